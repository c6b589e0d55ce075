// The platform half of supervision: start the bridge host process with its secret and
// lifeline, wait for it, stop it; make a private listen address; probe it.
// POSIX: posix_spawn, a 0700 temp dir for the Unix socket, fd 3 lifeline.
// Windows: CreateProcess in a Job Object (KILL_ON_JOB_CLOSE), a random pipe name.
#pragma once

#include "pool/address.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace kallithea_isapi {

struct launch_spec {
  std::string node;     ///< node executable (PATH lookup when it has no slash)
  std::string script;   ///< bin/kallithea-isapi.js
  std::string ini;      ///< --config
  std::string listen;   ///< --listen
  std::string secret;   ///< env KALLITHEA_ISAPI_SECRET, never argv
  std::string log_file; ///< the child's stdout and stderr are appended here
};

class child_process {
public:
  /// Starts the bridge; nullptr with `error` set when it could not be started.
  static std::unique_ptr<child_process> launch(const launch_spec& spec, std::string& error);
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  std::uint32_t pid() const { return pid_; }
  /// Non-blocking: true once it has exited (then `status` describes how).
  bool exited(std::string& status);
  /// Blocks until it exits (the supervisor thread only); returns how it ended.
  std::string wait();
  /// Asks it to stop (SIGTERM; on Windows, where there is no such request, ends the job).
  void terminate();
  /// Ends it now (SIGKILL / TerminateJobObject).
  void kill();

private:
  child_process() = default;
  struct impl;
  std::unique_ptr<impl> impl_;
  std::uint32_t pid_ = 0;
};

/// A fresh listen address only this process can guess: unix:<0700 temp dir>/bridge.sock, or
/// pipe:\\.\pipe\kallithea-isapi-<random>. `cleanup` is what remove_private_address takes.
bool make_private_address(std::string& listen, std::string& cleanup, std::string& error);
void remove_private_address(const std::string& cleanup);

/// One blocking connect attempt (supervisor thread): does the bridge accept yet?
bool probe_address(const bridge_address& address, std::uint32_t server_pid);

/// Fills `out` with `bytes` random bytes from the OS (per platform); false if it cannot.
bool random_bytes(unsigned char* out, std::size_t bytes);

/// `bytes` random bytes from the OS as lowercase hex, or empty when the OS has none to give:
/// the caller then refuses to start rather than use a guessable secret.
std::string random_hex(std::size_t bytes);

} // namespace kallithea_isapi
