// Spawn mode: starts the bridge host on a fresh private address with a fresh secret, waits
// until a connect succeeds (startup_timeout), publishes it to the pool, restarts it with
// back-off when it exits, and after rapid_fails_per_minute failures stops trying for a
// while (requests get 503, one clear log line) instead of crash-looping. It runs on its own
// thread, which reaps the child with waitpid (no SIGCHLD handler: the DLL is a guest in
// someone else's process). It ends in stop(): SIGTERM, SIGKILL after the grace, join.
#pragma once

#include "config/config.hpp"
#include "log/log.hpp"
#include "pool/bridge_pool.hpp"
#include "supervisor/child_process.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace kallithea_isapi {

class supervisor {
public:
  supervisor(const config& cfg, std::string ini_path, logger& log, bridge_pool& pool);
  ~supervisor();

  void start();

  /// For the status page (any thread): launches after an exit or a failed start, and the
  /// last failure's line and time (empty, 0 when none).
  struct figures {
    std::uint64_t restarts = 0;
    std::string last_failure;
    std::int64_t last_failure_unix_ms = 0;
  };
  figures current_figures();

  /// Stops the bridge (terminate, then kill after `grace`) and joins the thread.
  void stop(std::chrono::milliseconds grace);

private:
  void run();
  /// Sleeps until `until` or stop(); false when stopping.
  bool sleep_until(std::chrono::steady_clock::time_point until);
  bool stopping();
  void note_failure(const std::string& what);
  std::chrono::milliseconds backoff() const;

  const config& config_;
  std::string ini_path_;
  logger& log_;
  bridge_pool& pool_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool child_running_ = false;
  std::unique_ptr<child_process> child_;                       ///< guarded by mutex_ for stop()
  std::deque<std::chrono::steady_clock::time_point> failures_; ///< within the last minute
  unsigned consecutive_failures_ = 0;
  figures figures_; ///< guarded by mutex_
  std::uint64_t generation_ = 0;
};

} // namespace kallithea_isapi
