// One loaded ISAPI extension: dlopen/LoadLibrary, the three entry points,
// GetExtensionVersion once, TerminateExtension(HSE_TERM_MUST_UNLOAD) before unloading.
#ifndef KALLITHEA_ISAPI_HOST_EXTENSION_H
#define KALLITHEA_ISAPI_HOST_EXTENSION_H

#include "isapi/abi.h"

#include <string>

namespace isapi_host {

class Extension {
public:
  /// Loads the library and calls GetExtensionVersion; throws std::runtime_error with the
  /// reason (dlerror text, a missing export, FALSE from GetExtensionVersion).
  explicit Extension(const std::string& path);
  ~Extension();
  Extension(const Extension&) = delete;
  Extension& operator=(const Extension&) = delete;

  DWORD version() const { return version_; }
  const std::string& description() const { return description_; }

  /// Any host thread.
  DWORD http_extension_proc(EXTENSION_CONTROL_BLOCK* ecb) const { return proc_(ecb); }

  /// Calls TerminateExtension (if exported) once; later calls do nothing.
  void terminate(DWORD flags);

  /// Unloads the library. Only when no thread can still be inside it.
  void unload();

private:
  void* handle_ = nullptr;
  PFN_HTTPEXTENSIONPROC proc_ = nullptr;
  PFN_TERMINATEEXTENSION terminate_ = nullptr;
  bool terminated_ = false;
  DWORD version_ = 0;
  std::string description_;
};

} // namespace isapi_host

#endif
