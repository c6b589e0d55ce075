// Everything the extension owns between GetExtensionVersion and TerminateExtension: the
// configuration (or the error that replaced it), the log, the io threads (io_threads),
// the bridge pool, the supervisor, and the set of live requests (so termination can drain
// and then abort them). One instance, created by GetExtensionVersion; TerminateExtension
// stops it and destroys it.
#pragma once

#include "config/config.hpp"
#include "log/log.hpp"
#include "pool/bridge_pool.hpp"
#include "request/window_pool.hpp"
#include "runtime/io_threads.hpp"
#include "status/status_figures.hpp"

#include <isapi/abi.h>

#include <asio.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace kallithea_isapi {

class request;
class supervisor;

class runtime {
public:
  /// `ini_path` and `dll_dir` come from the exports (env override, module path).
  runtime(const std::string& ini_path, const std::string& dll_dir);
  ~runtime();

  /// Starts threads and, in spawn mode, the bridge. A bad config does not fail: requests
  /// then get a 500 page naming the file and key.
  void start();

  /// HttpExtensionProc's body: queue the request, return HSE_STATUS_PENDING.
  DWORD handle(EXTENSION_CONTROL_BLOCK* ecb);

  /// TerminateExtension's body: new requests get the shutdown page, in-flight ones get
  /// drain_timeout, the rest are aborted and waited for until each called
  /// DONE_WITH_SESSION (logged every 10 s while it lasts); then the bridge stops, the
  /// threads are joined, and later handle() calls return HSE_STATUS_ERROR.
  void stop();

  const config& cfg() const { return config_; }
  logger& log() { return *log_; }
  /// An io_context to bind a timer or a hand-over to (round robin over the io threads).
  asio::io_context& io() { return ios_.next(); }
  bridge_pool& pool() { return *pool_; }
  window_pool& windows() { return *windows_; }

  /// Called by a request after DONE_WITH_SESSION (any thread).
  void untrack(request* r);

  /// A request step begins or ends (request::run_step, any thread). The end is the step's
  /// last touch of the runtime.
  void step_began() { steps_running_.fetch_add(1, std::memory_order_relaxed); }
  void step_ended() { steps_running_.fetch_sub(1, std::memory_order_release); }
  std::size_t in_flight() const;

  /// The figures a request to the status page carries to the bridge; that request is not
  /// counted in flight.
  status_figures figures_for_status_page() const;

private:
  /// The loaded config first: it sizes the io threads.
  runtime(config_result loaded, const std::string& ini_path, const std::string& dll_dir);
  void run_io(asio::io_context& io);

  config config_;
  std::string config_error_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::unique_ptr<logger> log_;
  /// Before ios_: handlers still queued when ios_ goes hold requests, which return their
  /// windows here as they are destroyed.
  std::unique_ptr<window_pool> windows_;
  io_threads ios_;
  bool started_io_ = false;
  std::unique_ptr<bridge_pool> pool_;
  std::unique_ptr<supervisor> supervisor_;
  mutable std::mutex requests_mutex_;
  bool accepting_ = true; ///< false from stop(): new requests get the shutdown page
  bool stopped_ = false;  ///< drained: new requests are refused synchronously
  std::condition_variable requests_changed_;
  std::unordered_map<request*, std::weak_ptr<request>> requests_;
  /// Request steps running now. Host threads run steps too, and one may still be returning
  /// from a request that already left requests_; stop() waits for them before tearing down.
  std::atomic<unsigned> steps_running_{0};
};

} // namespace kallithea_isapi
