// One isapi-host instance: the loaded extension, its pool of threads, the live requests
// and the way events reach JavaScript. Knows nothing of N-API.
#ifndef KALLITHEA_ISAPI_HOST_HOST_H
#define KALLITHEA_ISAPI_HOST_HOST_H

#include "events.h"
#include "extension.h"
#include "host_config.h"
#include "thread_pool.h"
#include "verifier_policy.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

namespace isapi_host {

class Request;

class Host : public std::enable_shared_from_this<Host> {
public:
  /// JS thread. Loads the extension (throws std::runtime_error) and starts the threads.
  static std::shared_ptr<Host> create(const HostConfig& config, std::shared_ptr<EventSink> sink);
  ~Host();

  // --- JS thread -----------------------------------------------------------------
  /// A new request; 0 when the host is closing. The request keeps `info` (moved, not copied).
  std::uint64_t begin(RequestInfo info);
  /// A live request by id, or null.
  std::shared_ptr<Request> find(std::uint64_t id);
  /// Starts closing on a thread of its own; a `closed` event reports the end. False when
  /// a close had already begun (no second `closed` event).
  bool close_async(std::uint32_t deadline_ms);
  /// Closes on the calling thread (environment cleanup: JS can no longer run).
  void close_now(std::uint32_t deadline_ms);
  std::size_t live_requests();
  const std::string& extension_description() const { return extension_->description(); }
  DWORD extension_version() const { return extension_->version(); }

  // --- any thread ----------------------------------------------------------------
  const HostConfig& config() const { return config_; }
  const VerifierPolicy& policy() const { return policy_; }
  DWORD call_extension(EXTENSION_CONTROL_BLOCK* ecb) {
    return extension_->http_extension_proc(ecb);
  }
  /// HttpExtensionProc calls: their own pool, so that extensions blocked in them never
  /// hold up a completion. Posted on the JavaScript thread; with config().batch_dispatches
  /// they wait for wake_dispatches().
  bool run_extension_proc(std::function<void()> task, std::string label) {
    return proc_pool_->post(std::move(task), std::move(label),
                            config_.batch_dispatches ? ThreadPool::Wake::later
                                                     : ThreadPool::Wake::now);
  }
  /// JS thread, where the event loop turns: the requests dispatched since the last call
  /// get a pool thread (one wake for the batch, not one per request).
  void wake_dispatches() { proc_pool_->wake(); }
  bool run_completion(std::function<void()> task, std::string label) {
    return completion_pool_->post(std::move(task), std::move(label));
  }
  /// Threads the two pools have started (tests: growth).
  std::size_t pool_threads() { return proc_pool_->size() + completion_pool_->size(); }
  bool post(HostEvent&& event) { return sink_->post(std::move(event)); }
  void log(const std::string& line);
  /// The request's session is over: it leaves the live set and the connection table.
  void retire(std::uint64_t id);

private:
  Host(const HostConfig& config, std::shared_ptr<EventSink> sink);
  /// Returns true when every request ended (the extension was terminated and unloaded).
  bool do_close(std::uint32_t deadline_ms);
  void do_watch();
  void warn_blocked_threads();

  const HostConfig config_;
  const VerifierPolicy policy_;
  std::shared_ptr<EventSink> sink_;
  // Shared: a close that is not drained hands them to a process-wide keep list.
  std::shared_ptr<Extension> extension_;
  std::shared_ptr<ThreadPool> proc_pool_;
  std::shared_ptr<ThreadPool> completion_pool_;

  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::uint64_t, std::shared_ptr<Request>> live_;
  bool closing_ = false;
  bool closed_ = false;
  std::thread watchdog_;
  std::thread closer_;
};

} // namespace isapi_host

#endif
