// Windows half of supervision (see child_process.hpp).
#if defined(_WIN32)

#include "supervisor/child_process.hpp"

#include <windows.h>
#include <bcrypt.h>

#include <mutex>
#include <vector>

namespace kallithea_isapi {

struct child_process::impl {
  std::mutex mutex;
  HANDLE process = nullptr;
  HANDLE job = nullptr; ///< KILL_ON_JOB_CLOSE: the bridge dies with the worker process
};

namespace {

std::wstring widen(const std::string& s) {
  if (s.empty())
    return {};
  int n = MultiByteToWideChar(CP_UTF8, 0, s.data(), static_cast<int>(s.size()), nullptr, 0);
  std::wstring w(static_cast<std::size_t>(n), L'\0');
  MultiByteToWideChar(CP_UTF8, 0, s.data(), static_cast<int>(s.size()), w.data(), n);
  return w;
}

/// Quotes one argument the way CommandLineToArgvW and the C runtime split it.
void append_quoted(std::wstring& cmd, const std::wstring& arg) {
  if (!cmd.empty())
    cmd += L' ';
  if (!arg.empty() && arg.find_first_of(L" \t\"") == std::wstring::npos) {
    cmd += arg;
    return;
  }
  cmd += L'"';
  std::size_t backslashes = 0;
  for (wchar_t c : arg) {
    if (c == L'\\') {
      ++backslashes;
      continue;
    }
    if (c == L'"')
      cmd.append(backslashes * 2 + 1, L'\\');
    else
      cmd.append(backslashes, L'\\');
    backslashes = 0;
    cmd += c;
  }
  cmd.append(backslashes * 2, L'\\');
  cmd += L'"';
}

std::string last_error_text(const char* what) {
  return std::string(what) + " failed (Windows error " + std::to_string(GetLastError()) + ")";
}

} // namespace

std::unique_ptr<child_process> child_process::launch(const launch_spec& spec, std::string& error) {
  std::wstring cmd;
  for (const std::string* a : {&spec.node, &spec.script}) {
    append_quoted(cmd, widen(*a));
  }
  for (const char* a : {"bridge", "--config"})
    append_quoted(cmd, widen(a));
  append_quoted(cmd, widen(spec.ini));
  append_quoted(cmd, L"--listen");
  append_quoted(cmd, widen(spec.listen));

  // Environment: ours without any inherited secret, plus the fresh one.
  std::wstring env;
  if (wchar_t* block = GetEnvironmentStringsW()) {
    for (wchar_t* p = block; *p; p += wcslen(p) + 1) {
      std::wstring var(p);
      if (_wcsnicmp(var.c_str(), L"KALLITHEA_ISAPI_SECRET", 22) == 0)
        continue;
      env += var;
      env += L'\0';
    }
    FreeEnvironmentStringsW(block);
  }
  env += L"KALLITHEA_ISAPI_SECRET=" + widen(spec.secret);
  env += L'\0';
  env += L'\0';

  SECURITY_ATTRIBUTES sa{sizeof sa, nullptr, TRUE};
  HANDLE log = CreateFileW(widen(spec.log_file.empty() ? "NUL" : spec.log_file).c_str(),
                           FILE_APPEND_DATA, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa, OPEN_ALWAYS,
                           FILE_ATTRIBUTE_NORMAL, nullptr);
  HANDLE nul = CreateFileW(L"NUL", GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa,
                           OPEN_EXISTING, 0, nullptr);

  // Inherit exactly these handles, nothing else of the worker process.
  HANDLE inherit[2] = {log, nul};
  SIZE_T attr_size = 0;
  InitializeProcThreadAttributeList(nullptr, 1, 0, &attr_size);
  std::vector<unsigned char> attr_buf(attr_size);
  auto* attrs = reinterpret_cast<LPPROC_THREAD_ATTRIBUTE_LIST>(attr_buf.data());
  InitializeProcThreadAttributeList(attrs, 1, 0, &attr_size);
  UpdateProcThreadAttribute(attrs, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, inherit, sizeof inherit,
                            nullptr, nullptr);

  STARTUPINFOEXW si{};
  si.StartupInfo.cb = sizeof si;
  si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
  si.StartupInfo.hStdInput = nul;
  si.StartupInfo.hStdOutput = log;
  si.StartupInfo.hStdError = log;
  si.lpAttributeList = attrs;

  HANDLE job = CreateJobObjectW(nullptr, nullptr);
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits{};
  limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
  if (job)
    SetInformationJobObject(job, JobObjectExtendedLimitInformation, &limits, sizeof limits);

  PROCESS_INFORMATION pi{};
  BOOL ok = CreateProcessW(nullptr, cmd.data(), nullptr, nullptr, TRUE,
                           CREATE_UNICODE_ENVIRONMENT | CREATE_SUSPENDED | CREATE_NO_WINDOW |
                               EXTENDED_STARTUPINFO_PRESENT,
                           env.data(), nullptr, &si.StartupInfo, &pi);
  DWORD create_error = GetLastError();
  DeleteProcThreadAttributeList(attrs);
  CloseHandle(log);
  CloseHandle(nul);
  if (!ok) {
    if (job)
      CloseHandle(job);
    SetLastError(create_error);
    error = last_error_text(("CreateProcess " + spec.node).c_str());
    return nullptr;
  }
  if (job)
    AssignProcessToJobObject(job, pi.hProcess);
  ResumeThread(pi.hThread);
  CloseHandle(pi.hThread);
  std::unique_ptr<child_process> c(new child_process());
  c->impl_ = std::make_unique<impl>();
  c->impl_->process = pi.hProcess;
  c->impl_->job = job;
  c->pid_ = pi.dwProcessId;
  return c;
}

child_process::~child_process() {
  if (!impl_)
    return;
  std::string ignored;
  if (!exited(ignored)) {
    kill();
    wait();
  }
  if (impl_->job)
    CloseHandle(impl_->job);
  CloseHandle(impl_->process);
}

bool child_process::exited(std::string& status) {
  if (WaitForSingleObject(impl_->process, 0) != WAIT_OBJECT_0)
    return false;
  DWORD code = 0;
  GetExitCodeProcess(impl_->process, &code);
  status = "exit code " + std::to_string(code);
  return true;
}

std::string child_process::wait() {
  WaitForSingleObject(impl_->process, INFINITE);
  DWORD code = 0;
  GetExitCodeProcess(impl_->process, &code);
  return "exit code " + std::to_string(code);
}

void child_process::terminate() {
  kill();
}

void child_process::kill() {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  if (impl_->job)
    TerminateJobObject(impl_->job, 1);
  else
    TerminateProcess(impl_->process, 1);
}

bool make_private_address(std::string& listen, std::string& cleanup, std::string& error) {
  std::string r = random_hex(16);
  if (r.empty()) {
    error = "no randomness for the pipe name";
    return false;
  }
  listen = "pipe:\\\\.\\pipe\\kallithea-isapi-" + r;
  cleanup.clear();
  return true;
}

void remove_private_address(const std::string&) {}

bool probe_address(const bridge_address& address, std::uint32_t server_pid) {
  if (address.type != bridge_address::kind::pipe)
    return false;
  std::wstring name = widen(address.path);
  HANDLE h = CreateFileW(name.c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr, OPEN_EXISTING, 0,
                         nullptr);
  if (h == INVALID_HANDLE_VALUE)
    return GetLastError() == ERROR_PIPE_BUSY; // listening, all instances taken
  ULONG pid = 0;
  bool ours = server_pid == 0 || (GetNamedPipeServerProcessId(h, &pid) && pid == server_pid);
  CloseHandle(h);
  return ours;
}

bool random_bytes(unsigned char* out, std::size_t bytes) {
  return BCryptGenRandom(nullptr, out, static_cast<ULONG>(bytes),
                         BCRYPT_USE_SYSTEM_PREFERRED_RNG) == 0;
}

} // namespace kallithea_isapi

#endif
