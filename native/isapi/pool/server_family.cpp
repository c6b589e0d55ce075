#include "pool/server_family.hpp"

#if defined(_WIN32)
#include <windows.h>
#include <tlhelp32.h>

#include <unordered_map>
#endif

namespace kallithea_isapi {

#if defined(_WIN32)

server_family::~server_family() {
  if (job_)
    CloseHandle(static_cast<HANDLE>(job_));
}

namespace {

/// Whether `pid` descends from `root` (parent links from one process snapshot; a parent
/// PID can be reused after its process exited, so this is the fallback, not the rule).
bool descends_from(std::uint32_t pid, std::uint32_t root) {
  HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
  if (snap == INVALID_HANDLE_VALUE)
    return false;
  std::unordered_map<DWORD, DWORD> parent;
  PROCESSENTRY32W e{};
  e.dwSize = sizeof e;
  for (BOOL ok = Process32FirstW(snap, &e); ok; ok = Process32NextW(snap, &e))
    parent[e.th32ProcessID] = e.th32ParentProcessID;
  CloseHandle(snap);
  for (int depth = 0; depth < 8; ++depth) {
    auto it = parent.find(pid);
    if (it == parent.end() || it->second == 0 || it->second == pid)
      return false;
    pid = it->second;
    if (pid == root)
      return true;
  }
  return false;
}

} // namespace

bool server_family::contains(std::uint32_t pid, std::string& how) const {
  if (pid == root_pid_) {
    how = "the started process";
    return true;
  }
  if (job_) {
    HANDLE p = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
    BOOL in_job = FALSE;
    bool asked = p && IsProcessInJob(p, static_cast<HANDLE>(job_), &in_job);
    if (p)
      CloseHandle(p);
    if (asked && in_job) {
      how = "in the bridge's Job Object";
      return true;
    }
    how = asked ? "not in the bridge's Job Object"
                : "cannot be opened to check its Job Object (Windows error " +
                      std::to_string(GetLastError()) + ")";
  }
  // Without a usable job (assignment failed, or the process cannot be opened to ask): the
  // spawned process tree.
  if (descends_from(pid, root_pid_)) {
    how = "a descendant of the started process";
    return true;
  }
  how = (how.empty() ? std::string() : how + ", and ") +
        "neither the started process nor one of its descendants";
  return false;
}

#else

server_family::~server_family() = default;

bool server_family::contains(std::uint32_t pid, std::string& how) const {
  // POSIX serves on a socket in a 0700 folder: only the pid is compared (tests).
  how = pid == root_pid_ ? "the started process" : "not the started process";
  return pid == root_pid_;
}

#endif

} // namespace kallithea_isapi
