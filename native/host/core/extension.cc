#include "extension.h"

#include <stdexcept>
#include <string>

#if defined(_WIN32)
#include <windows.h>
#else
#include <dlfcn.h>
#endif

namespace isapi_host {

namespace {

void* open_library(const std::string& path, std::string& error) {
#if defined(_WIN32)
  // The path is UTF-8 (it comes from JavaScript): widen it, since the ANSI code page cannot
  // name a folder such as "spawn-д" or "中".
  std::wstring wide;
  int length = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path.data(),
                                   static_cast<int>(path.size()), nullptr, 0);
  if (length > 0) {
    wide.resize(static_cast<size_t>(length));
    MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path.data(), static_cast<int>(path.size()),
                        wide.data(), length);
  }
  HMODULE module = length > 0 ? LoadLibraryW(wide.c_str()) : nullptr;
  if (module == nullptr)
    error = "LoadLibrary failed with error " + std::to_string(GetLastError());
  return reinterpret_cast<void*>(module);
#else
  // RTLD_LOCAL: two hosts in one process may load two builds of the same extension.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* text = dlerror();
    error = text != nullptr ? text : "dlopen failed";
  }
  return handle;
#endif
}

void* find_symbol(void* handle, const char* name) {
#if defined(_WIN32)
  return reinterpret_cast<void*>(GetProcAddress(reinterpret_cast<HMODULE>(handle), name));
#else
  return dlsym(handle, name);
#endif
}

void close_library(void* handle) {
#if defined(_WIN32)
  FreeLibrary(reinterpret_cast<HMODULE>(handle));
#else
  dlclose(handle);
#endif
}

} // namespace

Extension::Extension(const std::string& path) {
  std::string error;
  handle_ = open_library(path, error);
  if (handle_ == nullptr)
    throw std::runtime_error("cannot load extension " + path + ": " + error);
  auto get_version =
      reinterpret_cast<PFN_GETEXTENSIONVERSION>(find_symbol(handle_, "GetExtensionVersion"));
  proc_ = reinterpret_cast<PFN_HTTPEXTENSIONPROC>(find_symbol(handle_, "HttpExtensionProc"));
  terminate_ = reinterpret_cast<PFN_TERMINATEEXTENSION>(find_symbol(handle_, "TerminateExtension"));
  if (get_version == nullptr || proc_ == nullptr) {
    close_library(handle_);
    handle_ = nullptr;
    throw std::runtime_error("extension " + path +
                             " does not export GetExtensionVersion and HttpExtensionProc");
  }
  HSE_VERSION_INFO info{};
  if (!get_version(&info)) {
    close_library(handle_);
    handle_ = nullptr;
    throw std::runtime_error("GetExtensionVersion of " + path + " returned FALSE");
  }
  version_ = info.dwExtensionVersion;
  info.lpszExtensionDesc[HSE_MAX_EXT_DLL_NAME_LEN - 1] = '\0';
  description_ = info.lpszExtensionDesc;
}

Extension::~Extension() {
  terminate(HSE_TERM_MUST_UNLOAD);
  unload();
}

void Extension::terminate(DWORD flags) {
  if (terminated_ || handle_ == nullptr)
    return;
  terminated_ = true;
  if (terminate_ != nullptr)
    terminate_(flags);
}

void Extension::unload() {
  if (handle_ == nullptr)
    return;
  close_library(handle_);
  handle_ = nullptr;
}

} // namespace isapi_host
