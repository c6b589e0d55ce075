#include "runtime/runtime.hpp"

#include "request/request.hpp"
#include "supervisor/supervisor.hpp"

#include <fstream>
#include <sstream>

#if !defined(_WIN32)
#include <sys/stat.h>
#endif

namespace kallithea_isapi {
namespace {

bool file_exists(const std::string& p) {
  std::ifstream f(p);
  return static_cast<bool>(f);
}

std::string parent_dir(const std::string& p) {
  auto slash = p.find_last_of("/\\");
  return slash == std::string::npos ? std::string() : p.substr(0, slash);
}

/// Default bridge_script: bin/kallithea-isapi.js in the DLL's folder or one of its parents
/// (the npm package layout: build-dll/Release/kallithea_isapi.so).
std::string find_bridge_script(const std::string& dll_dir) {
  std::string dir = dll_dir;
  for (int i = 0; i < 4 && !dir.empty(); ++i) {
    for (const char* rel : {"/bin/kallithea-isapi.js", "/kallithea-isapi.js"}) {
      if (file_exists(dir + rel))
        return dir + rel;
    }
    dir = parent_dir(dir);
  }
  return {};
}

std::string read_secret(const std::string& file, std::string& error) {
  std::ifstream f(file, std::ios::binary);
  if (!f) {
    error = "cannot read secret_file " + file;
    return {};
  }
  std::ostringstream ss;
  ss << f.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' '))
    s.pop_back();
  if (s.empty())
    error = "secret_file " + file + " is empty";
  return s;
}

} // namespace

runtime::runtime(const std::string& ini_path, const std::string& dll_dir) {
  config_result r;
  const char* env_ini = std::getenv("KALLITHEA_ISAPI_INI");
  if (env_ini && *env_ini && !file_exists(ini_path)) {
    r = parse_config("", "", dll_dir);
    r.error = std::string(ini_path) +
              ": cannot read the file named by KALLITHEA_ISAPI_INI; create it or fix the variable";
  } else {
    r = load_config(ini_path, dll_dir);
  }
  config_ = r.value;
  config_error_ = r.error;
  if (config_.mode == bridge_mode::spawn && config_.bridge_script.empty() && r.error.empty()) {
    config_.bridge_script = find_bridge_script(dll_dir);
    if (config_.bridge_script.empty())
      config_error_ = (r.value.file.empty() ? ini_path : r.value.file) +
                      ": [isapi] bridge_script: not set and bin/kallithea-isapi.js was not "
                      "found near the DLL; set it to the path of bin/kallithea-isapi.js";
  }
  config_.file = ini_path;
  log_ = std::make_unique<logger>(config_.log_file);
  pool_ = std::make_unique<bridge_pool>(io_, config_, *log_);
  // Spares for as many requests as can hold a bridge connection at once (two each).
  windows_ = std::make_unique<window_pool>(request::buffer_size, 2 * config_.max_connections);
}

runtime::~runtime() {
  stop();
}

void runtime::start() {
  unsigned n = config_.threads;
  if (n == 0) {
    n = 2 * std::thread::hardware_concurrency();
    if (n == 0)
      n = 4;
  }
  log_->info("kallithea_isapi starting: config " + config_.file + ", " + std::to_string(n) +
             " threads, mode " + (config_.mode == bridge_mode::spawn ? "spawn" : "connect"));
  if (!config_error_.empty()) {
    log_->error("configuration error, every request gets a 500 page: " + config_error_);
  }
  work_.emplace(io_.get_executor());
  for (unsigned i = 0; i < n; ++i)
    threads_.emplace_back([this] { run_io(); });
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

void runtime::run_io() {
  // Request handlers catch their own exceptions and fail their request; this is the last
  // resort for anything else (a pool or supervisor handler): log it, keep the thread.
  for (;;) {
    try {
      io_.run();
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

void runtime::stop() {
  if (!work_)
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
  pool_->shutdown();
  if (supervisor_)
    supervisor_->stop(std::chrono::seconds(5));
  work_.reset();
  io_.stop();
  for (auto& t : threads_)
    t.join();
  threads_.clear();
  log_->info("kallithea_isapi stopped");
  log_->flush();
}

} // namespace kallithea_isapi
