// The three ISAPI exports. Everything else lives in the runtime; these only find the DLL's
// folder and its kallithea-isapi.ini, and create or destroy the one runtime.
#include <isapi/abi.h>

#include "runtime/runtime.hpp"

#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>

#if defined(_WIN32)
#include <windows.h>
#else
#include <dlfcn.h>
#endif

namespace {

std::mutex runtime_mutex;
std::shared_ptr<kallithea_isapi::runtime> current; // between GetExtensionVersion and Terminate

/// The folder this DLL was loaded from.
std::string module_dir() {
  std::string path;
#if defined(_WIN32)
  HMODULE self = nullptr;
  GetModuleHandleExA(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS |
                         GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                     reinterpret_cast<LPCSTR>(&module_dir), &self);
  char buf[MAX_PATH * 2];
  DWORD n = GetModuleFileNameA(self, buf, sizeof buf);
  path.assign(buf, n);
#else
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&module_dir), &info) && info.dli_fname)
    path = info.dli_fname;
#endif
  auto slash = path.find_last_of("/\\");
  return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
}

} // namespace

ISAPI_EXPORT BOOL WINAPI GetExtensionVersion(HSE_VERSION_INFO* info) {
  if (!info)
    return FALSE;
  info->dwExtensionVersion = HSE_VERSION;
  std::strncpy(info->lpszExtensionDesc, "kallithea-isapi: Kallithea behind IIS",
               HSE_MAX_EXT_DLL_NAME_LEN - 1);
  info->lpszExtensionDesc[HSE_MAX_EXT_DLL_NAME_LEN - 1] = '\0';
  std::lock_guard<std::mutex> lock(runtime_mutex);
  if (current)
    return TRUE;
  try {
    std::string dir = module_dir();
    const char* env = std::getenv("KALLITHEA_ISAPI_INI");
#if defined(_WIN32)
    std::string ini = env && *env ? std::string(env) : dir + "\\kallithea-isapi.ini";
#else
    std::string ini = env && *env ? std::string(env) : dir + "/kallithea-isapi.ini";
#endif
    auto rt = std::make_shared<kallithea_isapi::runtime>(ini, dir);
    rt->start();
    current = std::move(rt);
    return TRUE;
  } catch (...) {
    return FALSE; // nothing escapes into the host
  }
}

ISAPI_EXPORT DWORD WINAPI HttpExtensionProc(EXTENSION_CONTROL_BLOCK* ecb) {
  std::shared_ptr<kallithea_isapi::runtime> rt;
  {
    std::lock_guard<std::mutex> lock(runtime_mutex);
    rt = current;
  }
  if (!rt || !ecb)
    return HSE_STATUS_ERROR;
  try {
    return rt->handle(ecb);
  } catch (...) {
    return HSE_STATUS_ERROR;
  }
}

ISAPI_EXPORT BOOL WINAPI TerminateExtension(DWORD) {
  // Any flag: release everything (isapi.md section 3: hosts disagree on the values).
  std::shared_ptr<kallithea_isapi::runtime> rt;
  {
    std::lock_guard<std::mutex> lock(runtime_mutex);
    rt.swap(current);
  }
  if (rt) {
    try {
      rt->stop();
    } catch (...) {
    }
  }
  return TRUE;
}
