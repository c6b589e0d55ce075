#include "runtime/runtime.hpp"

#include "platform/files.hpp"
#include "request/request.hpp"
#include "supervisor/supervisor.hpp"

namespace kallithea_isapi {
namespace {

std::string parent_dir(const std::string& p) {
  auto slash = p.find_last_of("/\\");
  return slash == std::string::npos ? std::string() : p.substr(0, slash);
}

/// Default bridge_script: bin/kallithea-isapi.js in the DLL's folder or one of its parents
/// (the npm package layout: build-dll/Release/kallithea_isapi.so).
std::string find_bridge_script(const std::string& dll_dir) {
  std::string dir = dll_dir;
  for (int i = 0; i < 4 && !dir.empty(); ++i) {
    std::string sep = path_separator();
    for (std::string rel : {sep + "bin" + sep + "kallithea-isapi.js", sep + "kallithea-isapi.js"}) {
      if (path_exists(dir + rel))
        return dir + rel;
    }
    dir = parent_dir(dir);
  }
  return {};
}

std::string read_secret(const std::string& file, std::string& error) {
  std::string s, reason;
  if (read_file(file, s, reason) != read_failure::none) {
    error = "cannot read secret_file " + file + " (" + reason + ")";
    return {};
  }
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' '))
    s.pop_back();
  if (s.empty())
    error = "secret_file " + file + " is empty";
  return s;
}

/// The io threads: `threads` from the ini, or one per CPU. Every step is asynchronous, so no
/// io thread ever waits on I/O, and spare threads only cost wake-ups (kallithea_isapi_bench,
/// 2 CPUs, one request in flight: 4 threads cost 2.5 x the CPU per request of 1).
unsigned io_thread_count(const config& c) {
  if (c.threads != 0)
    return c.threads;
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 2 : n;
}

} // namespace

runtime::runtime(const std::string& ini_path, const std::string& dll_dir)
    : runtime(load_config(ini_path, dll_dir), ini_path, dll_dir) {}

runtime::runtime(config_result r, const std::string& ini_path, const std::string& dll_dir)
    : ios_(io_thread_count(r.value)) {
  config_ = r.value;
  config_error_ = r.error;
  if (config_.mode == bridge_mode::spawn && config_.bridge_script.empty() && r.error.empty()) {
    config_.bridge_script = find_bridge_script(dll_dir);
    if (config_.bridge_script.empty())
      config_error_ = (r.value.file.empty() ? ini_path : r.value.file) +
                      ": [isapi] bridge_script: not set and bin/kallithea-isapi.js was not "
                      "found near the DLL; set it to the path of bin/kallithea-isapi.js";
  }
  if (config_.mode == bridge_mode::spawn && config_error_.empty()) {
    std::string node = resolve_executable(config_.node, dll_dir, environment_variable("PATH"));
    if (node.empty())
      config_error_ = ini_path + ": [isapi] node: '" + config_.node + "' was not found in " +
                      dll_dir +
                      " nor on PATH; set node to the full path of the node executable "
                      "(the worker process's PATH is the one the service saw at boot)";
    else
      config_.node = node;
  }
  config_.file = ini_path;
  log_ = std::make_unique<logger>(config_.log_file);
  pool_ = std::make_unique<bridge_pool>(ios_, config_, *log_);
  // Spares for as many requests as can hold a bridge connection at once (two each).
  windows_ = std::make_unique<window_pool>(request::buffer_size, 2 * config_.max_connections);
}

runtime::~runtime() {
  stop();
}

void runtime::start() {
  log_->info("kallithea_isapi starting: config " + config_.file + ", " +
             std::to_string(ios_.size()) + " threads, mode " +
             (config_.mode == bridge_mode::spawn ? "spawn" : "connect") +
             (config_.mode == bridge_mode::spawn ? ", node " + config_.node : std::string()));
  if (!config_error_.empty()) {
    log_->error("configuration error, every request gets a 500 page: " + config_error_);
  }
  // Once, at start: whether the log file can be written is known before the first request,
  // so its error pages can say so (logger::write_failure).
  log_->flush();
  started_io_ = true;
  ios_.start([this](asio::io_context& io) { run_io(io); });
  if (!config_error_.empty())
    return;
  if (config_.mode == bridge_mode::connect) {
    bridge_target t;
    std::string error;
    if (!parse_bridge_address(config_.bridge_address, t.address, error)) {
      config_error_ = config_.file + ": [isapi] bridge_address: " + error;
      log_->error(config_error_);
      return;
    }
    t.secret = read_secret(config_.secret_file, error);
    if (t.secret.empty()) {
      config_error_ = config_.file + ": [isapi] secret_file: " + error;
      log_->error(config_error_);
      return;
    }
    t.generation = 1;
    pool_->set_target(t);
    pool_->set_state(bridge_state::ready);
    return;
  }
  supervisor_ = std::make_unique<supervisor>(config_, config_.file, *log_, *pool_);
  supervisor_->start();
}

void runtime::run_io(asio::io_context& io) {
  // Request handlers catch their own exceptions and fail their request; this is the last
  // resort for anything else (a pool or supervisor handler): log it, keep the thread.
  for (;;) {
    try {
      io.run();
      return; // stopped
    } catch (const std::exception& e) {
      log_->error(std::string("exception escaped an io handler (thread goes on): ") + e.what());
    } catch (...) {
      log_->error("unknown exception escaped an io handler (thread goes on)");
    }
  }
}

DWORD runtime::handle(EXTENSION_CONTROL_BLOCK* ecb) {
  std::shared_ptr<request> r;
  bool accepting;
  {
    // Registered under the lock stop() takes: a request either counts for the drain or
    // gets the shutdown page while the io threads still run.
    std::lock_guard<std::mutex> lock(requests_mutex_);
    if (stopped_)
      return HSE_STATUS_ERROR; // threads gone: answering synchronously is all that is left
    accepting = accepting_;
    r = std::make_shared<request>(*this, ecb);
    requests_.emplace(r.get(), r);
  }
  std::optional<error_page> page;
  if (!config_error_.empty())
    page = make_error_page(500, "kallithea-isapi is misconfigured: " + config_error_);
  else if (!accepting)
    page = make_error_page(503, "The extension is shutting down.", 5);
  r->start(std::move(page));
  return HSE_STATUS_PENDING;
}

void runtime::untrack(request* r) {
  {
    std::lock_guard<std::mutex> lock(requests_mutex_);
    requests_.erase(r);
  }
  requests_changed_.notify_all();
}

std::size_t runtime::in_flight() const {
  std::lock_guard<std::mutex> lock(requests_mutex_);
  return requests_.size();
}

status_figures runtime::figures_for_status_page() const {
  status_figures f;
  f.version = KALLITHEA_ISAPI_VERSION;
  f.uptime_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - started_)
                    .count();
  f.mode = config_.mode == bridge_mode::spawn ? "spawn" : "connect";
  std::size_t n = in_flight();
  f.requests_in_flight = n > 0 ? n - 1 : 0;
  f.requests_queued = pool_->queued();
  f.connections = pool_->live_connections();
  f.idle_connections = pool_->idle_connections();
  f.max_connections = config_.max_connections;
  f.max_queued = config_.max_queued;
  f.bridge_state = describe(pool_->state());
  if (supervisor_) {
    supervisor::figures s = supervisor_->current_figures();
    f.bridge_restarts = s.restarts;
    f.last_failure = s.last_failure;
    f.last_failure_unix_ms = s.last_failure_unix_ms;
  }
  return f;
}

void runtime::stop() {
  if (!started_io_)
    return;
  std::unique_lock<std::mutex> lock(requests_mutex_);
  accepting_ = false;
  log_->info("kallithea_isapi stopping: " + std::to_string(requests_.size()) +
             " requests in flight, drain_timeout " + std::to_string(config_.drain_timeout.count()) +
             " ms");
  if (!requests_changed_.wait_for(lock, config_.drain_timeout, [&] { return requests_.empty(); })) {
    log_->warn("drain_timeout passed: aborting " + std::to_string(requests_.size()) + " requests");
    for (auto& [ptr, weak] : requests_)
      if (auto r = weak.lock())
        r->abort();
    // Each aborted request still calls DONE_WITH_SESSION (its outstanding I/O completes
    // once the client connection is closed); the host must never be left with one that
    // did not, so wait for all of them, saying so while it lasts.
    while (!requests_changed_.wait_for(lock, std::chrono::seconds(10),
                                       [&] { return requests_.empty(); }))
      log_->warn("still waiting for " + std::to_string(requests_.size()) +
                 " aborted requests to complete their I/O");
  }
  stopped_ = true;
  lock.unlock();
  // A step on a host thread may still be returning from a request that called DONE: it
  // may drop the request's last reference, which gives its windows back to windows_.
  while (steps_running_.load(std::memory_order_acquire) != 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  pool_->shutdown();
  if (supervisor_)
    supervisor_->stop(std::chrono::seconds(5));
  ios_.stop();
  started_io_ = false;
  log_->info("kallithea_isapi stopped");
  log_->flush();
}

} // namespace kallithea_isapi
