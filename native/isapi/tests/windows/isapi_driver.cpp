// A Windows stand-in for IIS, for tests under Wine (and on Windows): loads the DLL by its
// wide path (LoadLibraryW, as w3wp does), calls GetExtensionVersion, drives requests
// through HttpExtensionProc with the unit tests' fake ECB host, then TerminateExtension.
// Usage: isapi_driver <dll> [path ...]   one GET per path (default "/").
// Prints, per request, "status: <status line>" and "body: <body>" (UTF-8); exit code 0
// when every request completed (DONE_WITH_SESSION), 1 otherwise.
#include "fake_host.hpp"
#include "platform/files.hpp"

#include <cstdio>
#include <string>
#include <vector>

int wmain(int argc, wchar_t** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: isapi_driver <dll> [path ...]\n");
    return 2;
  }
  HMODULE dll = LoadLibraryW(argv[1]);
  if (!dll) {
    std::printf("LoadLibraryW failed: %lu\n", GetLastError());
    return 1;
  }
  auto version = reinterpret_cast<PFN_GETEXTENSIONVERSION>(
      reinterpret_cast<void*>(GetProcAddress(dll, "GetExtensionVersion")));
  auto proc = reinterpret_cast<PFN_HTTPEXTENSIONPROC>(
      reinterpret_cast<void*>(GetProcAddress(dll, "HttpExtensionProc")));
  auto terminate = reinterpret_cast<PFN_TERMINATEEXTENSION>(
      reinterpret_cast<void*>(GetProcAddress(dll, "TerminateExtension")));
  if (!version || !proc || !terminate) {
    std::printf("missing export\n");
    return 1;
  }
  HSE_VERSION_INFO info{};
  if (!version(&info)) {
    std::printf("GetExtensionVersion returned FALSE\n");
    return 1;
  }
  std::printf("extension: %s\n", info.lpszExtensionDesc);
  std::vector<std::string> paths;
  for (int i = 2; i < argc; ++i)
    paths.push_back(kallithea_isapi::narrow(argv[i]));
  if (paths.empty())
    paths.push_back("/");
  int rc = 0;
  {
    fake::host host;
    for (const std::string& path : paths) {
      fake::connection c;
      c.path_info = path;
      c.variables["REQUEST_METHOD"] = "GET";
      c.variables["QUERY_STRING"] = "";
      c.variables["SERVER_NAME"] = "localhost";
      c.variables["SERVER_PORT"] = "80";
      c.variables["REMOTE_ADDR"] = "127.0.0.1";
      DWORD status = host.run(c, proc);
      bool done = status == HSE_STATUS_PENDING ? host.wait_done(c, 60) : true;
      std::lock_guard<std::mutex> lock(host.mutex);
      std::printf("status: %s\n", c.status.c_str());
      std::printf("body: %s\n", c.output.c_str());
      if (!done) {
        std::printf("request %s did not complete\n", path.c_str());
        rc = 1;
      }
    }
  }
  std::fflush(stdout);
  terminate(HSE_TERM_MUST_UNLOAD);
  FreeLibrary(dll);
  std::printf("terminated\n");
  return rc;
}
