// A stand-in for node.exe in spawn mode, for tests under Wine. Its stdout is the bridge
// output the DLL routes to log_file, so it prints what it was given there:
//   fake-node: arg <n> <argument>          (UTF-8)
//   fake-node: config readable <yes|no>    (the --config file opened by its wide name)
//   fake-node: env <NAME>=<value>          for the KALLITHEA_ISAPI_* and NODE_* variables
// Then, by its own file name:
//   fake_node.exe       serves --listen as a named pipe (accepts connects) until killed or
//                       the lifeline (C runtime fd KALLITHEA_ISAPI_LIFELINE_FD) reads EOF,
//                       then prints "lifeline closed" and exits with code 7;
//   fake_node_shim.exe  starts fake_node.exe from its own folder with the same command line
//                       (a launcher shim) and waits for it.
#include "platform/files.hpp"

#include <windows.h>

#include <io.h>

#include <cstdint>
#include <cstdio>
#include <cwchar>
#include <string>

namespace {

void say(const std::string& line) {
  std::string l = "fake-node[" + std::to_string(GetCurrentProcessId()) + "]: " + line + "\n";
  DWORD written = 0;
  WriteFile(GetStdHandle(STD_OUTPUT_HANDLE), l.data(), static_cast<DWORD>(l.size()), &written,
            nullptr);
}

int run_shim(const wchar_t* self) {
  std::wstring dir(self);
  dir = dir.substr(0, dir.find_last_of(L"\\/") + 1);
  std::wstring cmd = GetCommandLineW();
  // Replace the program (first token, quoted or not) with fake_node.exe beside us.
  std::size_t rest = cmd[0] == L'"' ? cmd.find(L'"', 1) + 1 : cmd.find(L' ');
  cmd = L"\"" + dir + L"fake_node.exe\"" + cmd.substr(rest);
  STARTUPINFOW si{};
  si.cb = sizeof si;
  PROCESS_INFORMATION pi{};
  if (!CreateProcessW(nullptr, cmd.data(), nullptr, nullptr, TRUE, 0, nullptr, nullptr, &si, &pi)) {
    say("shim: CreateProcess failed " + std::to_string(GetLastError()));
    return 3;
  }
  say("shim: started real node pid " + std::to_string(pi.dwProcessId));
  WaitForSingleObject(pi.hProcess, INFINITE);
  DWORD code = 0;
  GetExitCodeProcess(pi.hProcess, &code);
  return static_cast<int>(code);
}

} // namespace

int wmain(int argc, wchar_t** argv) {
  std::wstring config, listen;
  for (int i = 0; i < argc; ++i) {
    say("arg " + std::to_string(i) + " " + kallithea_isapi::narrow(argv[i]));
    if (i + 1 < argc && std::wcscmp(argv[i], L"--config") == 0)
      config = argv[i + 1];
    if (i + 1 < argc && std::wcscmp(argv[i], L"--listen") == 0)
      listen = argv[i + 1];
  }
  HANDLE f = CreateFileW(config.c_str(), GENERIC_READ, FILE_SHARE_READ, nullptr, OPEN_EXISTING, 0,
                         nullptr);
  say(std::string("config readable ") + (f != INVALID_HANDLE_VALUE ? "yes" : "no"));
  if (f != INVALID_HANDLE_VALUE)
    CloseHandle(f);
  for (const wchar_t* name : {L"KALLITHEA_ISAPI_LIFELINE_FD", L"NODE_PENDING_PIPE_INSTANCES",
                              L"KALLITHEA_ISAPI_SECRET"}) {
    wchar_t value[256];
    DWORD n = GetEnvironmentVariableW(name, value, 256);
    say("env " + kallithea_isapi::narrow(name) + "=" +
        (n == 0                                              ? std::string("<unset>")
         : std::wcscmp(name, L"KALLITHEA_ISAPI_SECRET") == 0 ? "<set>"
                                                             : kallithea_isapi::narrow(value)));
  }
  std::wstring self(argv[0]);
  if (self.find(L"fake_node_shim") != std::wstring::npos)
    return run_shim(argv[0]);

  if (listen.rfind(L"pipe:", 0) != 0) {
    say("no pipe: address to serve");
    return 4;
  }
  std::wstring name = listen.substr(5);
  // The lifeline: a pipe end the C runtime made fd N from the DLL's lpReserved2 block, as
  // node's does; a read fails once the DLL's end closes.
  wchar_t fd_text[32];
  HANDLE lifeline = nullptr;
  if (GetEnvironmentVariableW(L"KALLITHEA_ISAPI_LIFELINE_FD", fd_text, 32)) {
    intptr_t h = _get_osfhandle(static_cast<int>(std::wcstol(fd_text, nullptr, 10)));
    lifeline = h == -1 ? nullptr : reinterpret_cast<HANDLE>(h);
    say(std::string("lifeline fd ") + (lifeline ? "open" : "not open"));
  }
  if (lifeline) {
    CreateThread(
        nullptr, 0,
        [](void* h) -> DWORD {
          char b;
          DWORD n = 0;
          while (ReadFile(static_cast<HANDLE>(h), &b, 1, &n, nullptr) && n > 0) {
          }
          say("lifeline closed: exiting");
          ExitProcess(7);
        },
        lifeline, 0, nullptr);
  }
  for (;;) {
    HANDLE pipe = CreateNamedPipeW(name.c_str(), PIPE_ACCESS_DUPLEX,
                                   PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT,
                                   PIPE_UNLIMITED_INSTANCES, 4096, 4096, 0, nullptr);
    if (pipe == INVALID_HANDLE_VALUE) {
      say("CreateNamedPipe failed " + std::to_string(GetLastError()));
      return 5;
    }
    ConnectNamedPipe(pipe, nullptr);
    DisconnectNamedPipe(pipe);
    CloseHandle(pipe);
  }
}
