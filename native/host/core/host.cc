#include "host.h"

#include "connections.h"
#include "request.h"

#include <chrono>

namespace isapi_host {

namespace {
// What a close that was not drained leaves behind (pools, extensions): never destroyed,
// and reachable, so leak checkers do not report it. Under its own mutex.
std::vector<std::shared_ptr<void>>& abandoned() {
  static auto* kept = new std::vector<std::shared_ptr<void>>;
  return *kept;
}
std::mutex& abandoned_mutex() {
  static auto* mutex = new std::mutex;
  return *mutex;
}

// After the close deadline, abandoned requests get this long to unwind.
constexpr auto abandon_grace = std::chrono::seconds(2);
} // namespace

std::shared_ptr<Host> Host::create(const HostConfig& config, std::shared_ptr<EventSink> sink) {
  std::shared_ptr<Host> host(new Host(config, std::move(sink)));
  if (config.verify)
    host->watchdog_ = std::thread([host = host.get()] { host->do_watch(); });
  return host;
}

Host::Host(const HostConfig& config, std::shared_ptr<EventSink> sink)
    : config_(config), policy_(config.verify), sink_(std::move(sink)),
      extension_(std::make_shared<Extension>(config.dll)),
      proc_pool_(std::make_shared<ThreadPool>(config.threads, config.max_threads)),
      completion_pool_(std::make_shared<ThreadPool>(config.threads, config.max_threads)) {}

namespace {
// The last reference to a host may be dropped on one of its own threads.
void join_or_detach(std::thread& thread) {
  if (!thread.joinable())
    return;
  if (thread.get_id() == std::this_thread::get_id()) {
    thread.detach();
  } else {
    thread.join();
  }
}
} // namespace

Host::~Host() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
  }
  changed_.notify_all();
  join_or_detach(closer_);
  join_or_detach(watchdog_);
}

// JS thread.
std::uint64_t Host::begin(RequestInfo info) {
  const std::uint64_t id = next_connection_id();
  auto request = std::make_shared<Request>(shared_from_this(), id, std::move(info));
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closing_)
      return 0;
    live_[id] = request;
  }
  register_connection(id, request);
  request->start();
  return id;
}

// JS thread.
std::shared_ptr<Request> Host::find(std::uint64_t id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = live_.find(id);
  return it == live_.end() ? nullptr : it->second;
}

std::size_t Host::live_requests() {
  std::lock_guard<std::mutex> lock(mutex_);
  return live_.size();
}

void Host::log(const std::string& line) {
  HostEvent event{HostEvent::Kind::log, 0};
  event.text = line;
  post(std::move(event));
}

// Any thread (under the request's lock; takes only the host's lock).
void Host::retire(std::uint64_t id) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    live_.erase(id);
  }
  changed_.notify_all();
  // The request's one terminal event; JS releases its side of the request on it.
  post(HostEvent{HostEvent::Kind::finished, id});
  // The caller holds its own reference: forgetting the request here does not free it
  // under the caller's feet.
  forget_connection(id);
}

// JS thread.
bool Host::close_async(std::uint32_t deadline_ms) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closing_)
      return false;
    closing_ = true;
  }
  auto self = shared_from_this();
  closer_ = std::thread([self, deadline_ms] {
    HostEvent closed{HostEvent::Kind::closed, 0};
    closed.flag = self->do_close(deadline_ms);
    self->post(std::move(closed));
  });
  return true;
}

// JS thread, at environment cleanup.
void Host::close_now(std::uint32_t deadline_ms) {
  bool already = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    already = closing_;
    closing_ = true;
  }
  if (already) {
    if (closer_.joinable())
      closer_.join();
    return;
  }
  do_close(deadline_ms);
}

// Closing thread: wait for outstanding requests (or the deadline), then, only when none
// is left, TerminateExtension, stop the pool and unload. IIS never calls TerminateExtension
// with requests outstanding, and would rather kill the worker process than unload code
// that threads are still running: when requests stay outstanding the extension stays
// loaded, the pool keeps its threads and the stuck requests keep their ECBs and ConnIDs
// (a late DONE_WITH_SESSION finds its request, not freed memory).
bool Host::do_close(std::uint32_t deadline_ms) {
  std::unique_lock<std::mutex> lock(mutex_);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(deadline_ms);
  changed_.wait_until(lock, deadline, [this] { return live_.empty(); });
  if (!live_.empty()) {
    std::vector<std::shared_ptr<Request>> stuck;
    for (auto& entry : live_)
      stuck.push_back(entry.second);
    lock.unlock();
    for (auto& request : stuck)
      request->abandon();
    stuck.clear();
    lock.lock();
    changed_.wait_for(lock, abandon_grace, [this] { return live_.empty(); });
  }
  bool drained = live_.empty();
  const std::size_t outstanding = live_.size();
  lock.unlock();
  // A request can end (DONE) while its thread is still inside the extension, returning
  // from a completion routine or HttpExtensionProc: those threads leave first.
  const auto grace = std::chrono::steady_clock::now() + abandon_grace;
  if (drained && !(proc_pool_->wait_idle(grace) && completion_pool_->wait_idle(grace))) {
    drained = false;
    log("isapi-host: a host thread is still inside the extension after every request ended");
  }

  if (drained) {
    extension_->terminate(HSE_TERM_MUST_UNLOAD);
    proc_pool_->stop();
    completion_pool_->stop();
    extension_->unload();
  } else {
    log("isapi-host: " + std::to_string(outstanding) +
        " request(s) still outstanding at close: TerminateExtension not called, extension left "
        "loaded");
    // Kept for the life of the process: threads may still be inside the extension and
    // its code must stay mapped.
    std::lock_guard<std::mutex> keep(abandoned_mutex());
    abandoned().push_back(proc_pool_);
    abandoned().push_back(completion_pool_);
    abandoned().push_back(extension_);
  }

  {
    std::lock_guard<std::mutex> guard(mutex_);
    closed_ = true;
    // Stuck requests stay in the connection table (and keep this host alive) but leave
    // the live set, so that nothing waits for them any more.
    live_.clear();
  }
  changed_.notify_all();
  return drained;
}

// Watchdog thread (verifier mode): PENDING requests that never call DONE, and host
// threads an extension keeps blocked.
void Host::do_watch() {
  std::unique_lock<std::mutex> lock(mutex_);
  const auto period = std::chrono::milliseconds(
      std::max<std::uint32_t>(10, std::min(config_.done_timeout_ms, config_.block_warn_ms) / 4));
  while (!closed_) {
    changed_.wait_for(lock, period, [this] { return closed_; });
    if (closed_)
      break;
    std::vector<std::shared_ptr<Request>> live;
    for (auto& entry : live_)
      live.push_back(entry.second);
    lock.unlock();
    const auto now = Request::clock::now();
    for (auto& request : live)
      request->check_deadline(now);
    live.clear();
    warn_blocked_threads();
    lock.lock();
  }
}

// Watchdog thread. A warning, not a violation: IIS lets an extension block its threads
// (the pool grows), but an extension that does so for long starves IIS of threads.
void Host::warn_blocked_threads() {
  const auto limit = std::chrono::milliseconds(config_.block_warn_ms);
  for (auto* pool : {proc_pool_.get(), completion_pool_.get()}) {
    for (const auto& blocked : pool->newly_blocked(limit)) {
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(blocked.running);
      log("isapi-host: WARNING: " + blocked.label + " has blocked a host thread for " +
          std::to_string(ms.count()) + " ms");
    }
  }
}

} // namespace isapi_host
