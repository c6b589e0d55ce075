// The platform half of supervision: start the bridge host process with its secret and
// lifeline, wait for it, stop it; make a private listen address; probe it.
// POSIX: posix_spawn, a 0700 temp dir for the Unix socket, fd 3 lifeline.
// Windows: CreateProcess in a Job Object (KILL_ON_JOB_CLOSE), a random pipe name.
#pragma once

#include "pool/address.hpp"
#include "pool/server_family.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace kallithea_isapi {

struct launch_spec {
  std::string node;     ///< node executable (PATH lookup when it has no slash)
  std::string script;   ///< bin/kallithea-isapi.js
  std::string ini;      ///< --config
  std::string listen;   ///< --listen
  std::string secret;   ///< env KALLITHEA_ISAPI_SECRET, never argv
  std::string log_file; ///< the child's stdout and stderr are appended here
  /// Windows: NODE_PENDING_PIPE_INSTANCES for the bridge (libuv's default of 4 pending
  /// instances gives ERROR_PIPE_BUSY under bursts); 0 leaves the variable alone.
  std::size_t pending_pipe_instances = 0;
};

class child_process {
public:
  /// Starts the bridge; nullptr with `error` set when it could not be started.
  static std::unique_ptr<child_process> launch(const launch_spec& spec, std::string& error);
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  std::uint32_t pid() const { return pid_; }
  /// What went less than planned while starting it (output to the null device, no Job
  /// Object, ...): one line each, for the log.
  const std::vector<std::string>& warnings() const { return warnings_; }
  /// Who may serve its pipe (the process, its Job Object); shared with published targets.
  std::shared_ptr<const server_family> family() const { return family_; }
  /// Non-blocking: true once it has exited (then `status` describes how).
  bool exited(std::string& status);
  /// Blocks until it exits (the supervisor thread only); returns how it ended.
  std::string wait();
  /// Asks it to stop: SIGTERM on POSIX; on Windows the lifeline is closed, which the
  /// bridge honours like SIGTERM (kill() after the grace ends the Job Object).
  void terminate();
  /// Ends it now (SIGKILL / TerminateJobObject).
  void kill();

private:
  child_process() = default;
  struct impl;
  std::unique_ptr<impl> impl_;
  std::uint32_t pid_ = 0;
  std::vector<std::string> warnings_;
  std::shared_ptr<server_family> family_;
};

/// A fresh listen address only this process can guess: unix:<0700 temp dir>/bridge.sock, or
/// pipe:\\.\pipe\kallithea-isapi-<random>. `cleanup` is what remove_private_address takes.
bool make_private_address(std::string& listen, std::string& cleanup, std::string& error);
void remove_private_address(const std::string& cleanup);

/// What one readiness probe found.
struct probe_result {
  bool ready = false;
  /// On a pipe: the serving PID, why it is accepted and the DACL the pipe now has, or (not
  /// ready) which PID was expected and which was found. Empty on a Unix socket.
  std::string verdict;
  /// Ready, but less safe than planned (Windows: the pipe's DACL could not be restricted),
  /// with what that means: one line for the log.
  std::string warning;
};

/// One blocking connect attempt (supervisor thread): does the bridge accept yet? On a pipe
/// served by the family, the pipe's DACL is restricted on the same handle (Windows).
probe_result probe_address(const bridge_address& address, const server_family& family);

/// Fills `out` with `bytes` random bytes from the OS (per platform); false if it cannot.
bool random_bytes(unsigned char* out, std::size_t bytes);

/// `bytes` random bytes from the OS as lowercase hex, or empty when the OS has none to give:
/// the caller then refuses to start rather than use a guessable secret.
std::string random_hex(std::size_t bytes);

} // namespace kallithea_isapi
