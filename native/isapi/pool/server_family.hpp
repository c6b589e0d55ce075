// Who may serve the bridge's pipe on Windows: the process the supervisor started or, when
// that process is a launcher shim which starts the real node as its child, a process in
// the same Job Object (or, if the job could not be used, below it in the process tree).
// Shared by the readiness probe and every pipe connect, so a pipe name squatted by some
// other local process never receives a request. The family owns the Job Object handle:
// the job (KILL_ON_JOB_CLOSE) lasts while the child or a published target still uses it.
#pragma once

#include <cstdint>
#include <string>

namespace kallithea_isapi {

class server_family {
public:
  /// `job` is a Job Object HANDLE this object now owns (nullptr when there is none).
  server_family(std::uint32_t root_pid, void* job) : root_pid_(root_pid), job_(job) {}
  ~server_family();
  server_family(const server_family&) = delete;
  server_family& operator=(const server_family&) = delete;

  std::uint32_t root_pid() const { return root_pid_; }
  void* job() const { return job_; }

  /// True when `pid` is the started process, runs in its job, or descends from it. `how`
  /// says which ("the started process", "in the bridge's Job Object", ...) or why not.
  bool contains(std::uint32_t pid, std::string& how) const;

private:
  std::uint32_t root_pid_;
  void* job_;
};

} // namespace kallithea_isapi
