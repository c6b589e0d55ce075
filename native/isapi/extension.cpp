// The three ISAPI exports. Everything else lives in the runtime; these only find the DLL's
// folder and its kallithea-isapi.ini, and create or destroy the one runtime.
#include <isapi/abi.h>

#include "platform/files.hpp"
#include "runtime/runtime.hpp"

#include <condition_variable>
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

// The one runtime, between GetExtensionVersion and TerminateExtension. Deliberately a raw
// pointer with no static destructor: a destructor would run at DLL unload, under the
// loader lock, and stopping the runtime joins threads (a deadlock in DllMain). If the host
// unloads without TerminateExtension, the runtime is leaked on purpose: the process is
// going away, and leaking is the only safe thing to do under the loader lock.
std::mutex runtime_mutex;
std::condition_variable calls_changed;
kallithea_isapi::runtime* current = nullptr;
/// HttpExtensionProc calls inside the runtime; TerminateExtension waits for them to return.
unsigned calls_in_flight = 0;

/// The folder this DLL was loaded from, as UTF-8.
std::string module_dir() {
  std::string path;
#if defined(_WIN32)
  HMODULE self = nullptr;
  GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS |
                         GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                     reinterpret_cast<LPCWSTR>(&module_dir), &self);
  // Wide: the ANSI call turns letters outside the code page (д, 中) into '?'. Grow the
  // buffer while the name is cut (long paths, \\?\ prefixes).
  std::wstring buf(MAX_PATH, L'\0');
  for (;;) {
    DWORD n = GetModuleFileNameW(self, buf.data(), static_cast<DWORD>(buf.size()));
    if (n < buf.size()) {
      buf.resize(n);
      break;
    }
    buf.resize(buf.size() * 2);
  }
  path = kallithea_isapi::narrow(buf);
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
    std::string ini = kallithea_isapi::environment_variable("KALLITHEA_ISAPI_INI");
    if (ini.empty())
      ini = dir + kallithea_isapi::path_separator() + "kallithea-isapi.ini";
    auto rt = std::make_unique<kallithea_isapi::runtime>(ini, dir);
    rt->start();
    current = rt.release();
    return TRUE;
  } catch (...) {
    return FALSE; // nothing escapes into the host
  }
}

ISAPI_EXPORT DWORD WINAPI HttpExtensionProc(EXTENSION_CONTROL_BLOCK* ecb) {
  kallithea_isapi::runtime* rt = nullptr;
  {
    std::lock_guard<std::mutex> lock(runtime_mutex);
    if (!current || !ecb)
      return HSE_STATUS_ERROR;
    rt = current;
    ++calls_in_flight;
  }
  DWORD status = HSE_STATUS_ERROR;
  try {
    status = rt->handle(ecb);
  } catch (...) {
    status = HSE_STATUS_ERROR; // nothing escapes into the host
  }
  {
    std::lock_guard<std::mutex> lock(runtime_mutex);
    --calls_in_flight;
  }
  calls_changed.notify_all();
  return status;
}

ISAPI_EXPORT BOOL WINAPI TerminateExtension(DWORD) {
  // Any flag: release everything (isapi.md section 3: hosts disagree on the values).
  kallithea_isapi::runtime* rt = nullptr;
  {
    std::unique_lock<std::mutex> lock(runtime_mutex);
    std::swap(rt, current);
    // A call that got the runtime before the swap finishes registering its request first,
    // so the drain below counts it.
    calls_changed.wait(lock, [] { return calls_in_flight == 0; });
  }
  if (rt) {
    try {
      rt->stop();
    } catch (...) {
    }
    delete rt;
  }
  return TRUE;
}
