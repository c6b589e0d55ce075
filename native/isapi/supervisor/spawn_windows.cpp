// Windows half of supervision (see child_process.hpp).
#if defined(_WIN32)

#include "supervisor/child_process.hpp"

#include "platform/files.hpp"
#include "platform/pipe_security.hpp"

#include <windows.h>
#include <bcrypt.h>

#include <cstring>
#include <mutex>
#include <vector>

namespace kallithea_isapi {

struct child_process::impl {
  std::mutex mutex;
  HANDLE process = nullptr;
  /// Our end of the lifeline; closing it (stop, or this process dying) tells the bridge.
  HANDLE lifeline_write = nullptr;
};

namespace {

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

std::string last_error_text(const std::string& what) {
  return what + " failed (Windows error " + std::to_string(GetLastError()) + ")";
}

/// The C runtime's handle-inheritance block (STARTUPINFO lpReserved2), which the child's CRT
/// turns into file descriptors at start: an int count, a flag byte per fd, a HANDLE per fd,
/// unaligned. libuv passes a child's stdio the same way; this is how the lifeline becomes
/// fd 3 in node.exe, where lib/bridge/lifeline.ts reads it exactly as on POSIX.
std::vector<unsigned char> crt_fd_block(const HANDLE* handles, const unsigned char* flags,
                                        int count) {
  std::vector<unsigned char> b(sizeof(int) +
                               static_cast<std::size_t>(count) * (1 + sizeof(HANDLE)));
  std::memcpy(b.data(), &count, sizeof count);
  std::memcpy(b.data() + sizeof(int), flags, static_cast<std::size_t>(count));
  std::memcpy(b.data() + sizeof(int) + count, handles,
              static_cast<std::size_t>(count) * sizeof(HANDLE));
  return b;
}

constexpr unsigned char crt_fopen = 0x01, crt_fpipe = 0x08, crt_fdev = 0x40;

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

  // Environment: ours without any inherited secret or lifeline, plus the fresh ones.
  std::wstring env;
  if (wchar_t* block = GetEnvironmentStringsW()) {
    for (wchar_t* p = block; *p; p += wcslen(p) + 1) {
      std::wstring var(p);
      if (_wcsnicmp(var.c_str(), L"KALLITHEA_ISAPI_SECRET", 22) == 0 ||
          _wcsnicmp(var.c_str(), L"KALLITHEA_ISAPI_LIFELINE_FD=", 28) == 0 ||
          (spec.pending_pipe_instances > 0 &&
           _wcsnicmp(var.c_str(), L"NODE_PENDING_PIPE_INSTANCES=", 28) == 0))
        continue;
      env += var;
      env += L'\0';
    }
    FreeEnvironmentStringsW(block);
  }
  for (std::wstring var : {L"KALLITHEA_ISAPI_SECRET=" + widen(spec.secret),
                           std::wstring(L"KALLITHEA_ISAPI_LIFELINE_FD=3")}) {
    env += var;
    env += L'\0';
  }
  if (spec.pending_pipe_instances > 0) {
    env += L"NODE_PENDING_PIPE_INSTANCES=" + std::to_wstring(spec.pending_pipe_instances);
    env += L'\0';
  }
  env += L'\0';

  std::vector<std::string> warnings;
  SECURITY_ATTRIBUTES sa{sizeof sa, nullptr, TRUE};
  HANDLE nul = CreateFileW(L"NUL", GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE,
                           &sa, OPEN_EXISTING, 0, nullptr);
  if (nul == INVALID_HANDLE_VALUE) {
    error = last_error_text("opening NUL");
    return nullptr;
  }
  HANDLE log = INVALID_HANDLE_VALUE;
  if (!spec.log_file.empty()) {
    log = CreateFileW(widen(spec.log_file).c_str(), FILE_APPEND_DATA,
                      FILE_SHARE_READ | FILE_SHARE_WRITE, &sa, OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL,
                      nullptr);
    if (log == INVALID_HANDLE_VALUE)
      warnings.push_back("cannot open log_file " + spec.log_file + " for the bridge's output (" +
                         last_error_text("CreateFile") + "); its output goes to NUL");
  }
  // INVALID_HANDLE_VALUE is the current-process pseudo-handle: in the inherit list or as a
  // std handle it is invalid (ERROR_INVALID_PARAMETER). NUL stands in for a missing log.
  HANDLE output = log != INVALID_HANDLE_VALUE ? log : nul;

  // The lifeline: the child inherits the read end, we keep the write end (not inheritable).
  HANDLE lifeline_read = nullptr, lifeline_write = nullptr;
  if (!CreatePipe(&lifeline_read, &lifeline_write, &sa, 0)) {
    error = last_error_text("CreatePipe (lifeline)");
    if (log != INVALID_HANDLE_VALUE)
      CloseHandle(log);
    CloseHandle(nul);
    return nullptr;
  }
  SetHandleInformation(lifeline_write, HANDLE_FLAG_INHERIT, 0);
  auto close_ours = [&] {
    if (log != INVALID_HANDLE_VALUE)
      CloseHandle(log);
    CloseHandle(nul);
    CloseHandle(lifeline_read);
  };

  // Inherit exactly these handles, nothing else of the worker process.
  HANDLE inherit[3] = {nul, lifeline_read, output};
  const std::size_t inherit_count = output == nul ? 2 : 3;
  SIZE_T attr_size = 0;
  InitializeProcThreadAttributeList(nullptr, 1, 0, &attr_size);
  std::vector<unsigned char> attr_buf(attr_size);
  auto* attrs = reinterpret_cast<LPPROC_THREAD_ATTRIBUTE_LIST>(attr_buf.data());
  if (!InitializeProcThreadAttributeList(attrs, 1, 0, &attr_size) ||
      !UpdateProcThreadAttribute(attrs, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, inherit,
                                 inherit_count * sizeof(HANDLE), nullptr, nullptr)) {
    error = last_error_text("preparing the handle list");
    close_ours();
    CloseHandle(lifeline_write);
    return nullptr;
  }

  const HANDLE fds[4] = {nul, output, output, lifeline_read};
  const unsigned char fd_flags[4] = {crt_fopen | crt_fdev, crt_fopen, crt_fopen,
                                     crt_fopen | crt_fpipe};
  std::vector<unsigned char> fd_block = crt_fd_block(fds, fd_flags, 4);

  STARTUPINFOEXW si{};
  si.StartupInfo.cb = sizeof si;
  si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
  si.StartupInfo.hStdInput = nul;
  si.StartupInfo.hStdOutput = output;
  si.StartupInfo.hStdError = output;
  si.StartupInfo.cbReserved2 = static_cast<WORD>(fd_block.size());
  si.StartupInfo.lpReserved2 = fd_block.data();
  si.lpAttributeList = attrs;

  // The job (KILL_ON_JOB_CLOSE) takes the child before it runs: created suspended, assigned,
  // then resumed, so nothing it starts (a launcher shim's node) escapes the job.
  HANDLE job = CreateJobObjectW(nullptr, nullptr);
  if (!job) {
    warnings.push_back(last_error_text("CreateJobObject") +
                       "; the bridge runs without a Job Object (the lifeline still ends it)");
  } else {
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits{};
    limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
    if (!SetInformationJobObject(job, JobObjectExtendedLimitInformation, &limits, sizeof limits))
      warnings.push_back(last_error_text("SetInformationJobObject (KILL_ON_JOB_CLOSE)") +
                         "; only the lifeline ends the bridge if this process dies");
  }

  PROCESS_INFORMATION pi{};
  BOOL ok = CreateProcessW(nullptr, cmd.data(), nullptr, nullptr, TRUE,
                           CREATE_UNICODE_ENVIRONMENT | CREATE_SUSPENDED | CREATE_NO_WINDOW |
                               EXTENDED_STARTUPINFO_PRESENT,
                           env.data(), nullptr, &si.StartupInfo, &pi);
  DWORD create_error = GetLastError();
  DeleteProcThreadAttributeList(attrs);
  close_ours();
  if (!ok) {
    if (job)
      CloseHandle(job);
    CloseHandle(lifeline_write);
    SetLastError(create_error);
    error = last_error_text("CreateProcess " + spec.node);
    return nullptr;
  }
  if (job && !AssignProcessToJobObject(job, pi.hProcess)) {
    // E.g. w3wp itself in a job that forbids nesting (before Windows 8) or breakaway.
    warnings.push_back(last_error_text("AssignProcessToJobObject") +
                       "; the bridge runs outside a Job Object: the lifeline ends it, and a "
                       "launcher shim's child is recognised by its parent process");
    CloseHandle(job);
    job = nullptr;
  }
  ResumeThread(pi.hThread);
  CloseHandle(pi.hThread);
  std::unique_ptr<child_process> c(new child_process());
  c->impl_ = std::make_unique<impl>();
  c->impl_->process = pi.hProcess;
  c->impl_->lifeline_write = lifeline_write;
  c->pid_ = pi.dwProcessId;
  c->warnings_ = std::move(warnings);
  c->family_ = std::make_shared<server_family>(c->pid_, job);
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
  // A shim's child may outlive the process we started: the job ends it too.
  if (family_->job())
    TerminateJobObject(static_cast<HANDLE>(family_->job()), 1);
  if (impl_->lifeline_write)
    CloseHandle(impl_->lifeline_write);
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
  // Windows has no SIGTERM for a console-less child: the lifeline's EOF is the bridge's
  // request to stop accepting, finish what is in flight and exit.
  std::lock_guard<std::mutex> lock(impl_->mutex);
  if (impl_->lifeline_write) {
    CloseHandle(impl_->lifeline_write);
    impl_->lifeline_write = nullptr;
  }
}

void child_process::kill() {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  if (family_->job())
    TerminateJobObject(static_cast<HANDLE>(family_->job()), 1);
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

probe_result probe_address(const bridge_address& address, const server_family& family) {
  probe_result r;
  if (address.type != bridge_address::kind::pipe)
    return r;
  // With WRITE_DAC, so the pipe can be locked on the very handle whose server was checked.
  // The pipe's owner is who started node.exe, this process's user, so it is granted; if
  // not, the probe goes on without it and the warning below says what that leaves.
  const std::wstring path = widen(address.path);
  const DWORD flags = SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION;
  std::string lock_error;
  HANDLE h = CreateFileW(path.c_str(), GENERIC_READ | GENERIC_WRITE | pipe_dacl_access, 0, nullptr,
                         OPEN_EXISTING, flags, nullptr);
  if (h == INVALID_HANDLE_VALUE && GetLastError() == ERROR_ACCESS_DENIED) {
    lock_error = last_error_text("opening it with WRITE_DAC");
    h = CreateFileW(path.c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr, OPEN_EXISTING, flags,
                    nullptr);
  }
  if (h == INVALID_HANDLE_VALUE)
    return r; // not there yet, or every instance taken: the next probe tells
  ULONG pid = 0;
  std::string how = "GetNamedPipeServerProcessId failed";
  bool known = GetNamedPipeServerProcessId(h, &pid) != FALSE;
  r.ready = known && family.contains(pid, how);
  std::string dacl;
  if (r.ready && lock_error.empty())
    restrict_pipe(h, dacl, lock_error);
  CloseHandle(h);
  std::string server = known ? std::to_string(pid) : std::string("<unknown>");
  if (!r.ready) {
    r.verdict = "served by pid " + server + ", expected pid " + std::to_string(family.root_pid()) +
                " or a process in its Job Object; " + how + ": not using it";
    return r;
  }
  r.verdict = "served by pid " + server + " (" + how + ")";
  if (lock_error.empty()) {
    r.verdict += ", DACL " + dacl;
  } else {
    r.warning = "its DACL could not be restricted to this worker's identity and SYSTEM (" +
                lock_error +
                "): the pipe keeps the default DACL node.exe gave it (Everyone and Anonymous may "
                "open it for reading, Administrators fully) and network clients are not "
                "rejected; requests are still served only to a client presenting the hop secret";
  }
  return r;
}

bool random_bytes(unsigned char* out, std::size_t bytes) {
  return BCryptGenRandom(nullptr, out, static_cast<ULONG>(bytes),
                         BCRYPT_USE_SYSTEM_PREFERRED_RNG) == 0;
}

} // namespace kallithea_isapi

#endif
