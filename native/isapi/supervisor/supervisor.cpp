#include "supervisor/supervisor.hpp"

#include <vector>

namespace kallithea_isapi {

using clock_type = std::chrono::steady_clock;

supervisor::supervisor(const config& cfg, std::string ini_path, logger& log, bridge_pool& pool)
    : config_(cfg), ini_path_(std::move(ini_path)), log_(log), pool_(pool) {}

supervisor::~supervisor() {
  stop(std::chrono::milliseconds(0));
}

void supervisor::start() {
  thread_ = std::thread([this] { run(); });
}

bool supervisor::stopping() {
  std::lock_guard<std::mutex> lock(mutex_);
  return stopping_;
}

bool supervisor::sleep_until(clock_type::time_point until) {
  std::unique_lock<std::mutex> lock(mutex_);
  wake_.wait_until(lock, until, [&] { return stopping_; });
  return !stopping_;
}

std::chrono::milliseconds supervisor::backoff() const {
  // 0.5 s, 1 s, 2 s, ... up to 10 s between consecutive failures.
  unsigned n = consecutive_failures_ == 0 ? 0 : consecutive_failures_ - 1;
  long long ms = 500LL << (n > 5 ? 5 : n);
  return std::chrono::milliseconds(ms > 10000 ? 10000 : ms);
}

void supervisor::note_failure(const std::string& what) {
  auto now = clock_type::now();
  failures_.push_back(now);
  while (!failures_.empty() && now - failures_.front() > std::chrono::minutes(1))
    failures_.pop_front();
  ++consecutive_failures_;
  log_.error(what);
  // Every failure is followed by another launch (unless stopping, when nobody asks).
  std::lock_guard<std::mutex> lock(mutex_);
  ++figures_.restarts;
  figures_.last_failure = what;
  figures_.last_failure_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count();
}

supervisor::figures supervisor::current_figures() {
  std::lock_guard<std::mutex> lock(mutex_);
  return figures_;
}

void supervisor::run() {
  while (!stopping()) {
    if (failures_.size() >= config_.rapid_fails_per_minute) {
      auto resume = failures_.front() + std::chrono::minutes(1);
      pool_.set_state(bridge_state::failed);
      log_.error("bridge failed " + std::to_string(failures_.size()) +
                 " times within a minute (rapid_fails_per_minute = " +
                 std::to_string(config_.rapid_fails_per_minute) + "): not restarting it for " +
                 std::to_string(
                     std::chrono::duration_cast<std::chrono::seconds>(resume - clock_type::now())
                         .count()) +
                 " s; requests get 503 meanwhile. Check node = " + config_.node +
                 " and bridge_script = " + config_.bridge_script +
                 " and the bridge's own lines above.");
      if (!sleep_until(resume))
        break;
      failures_.clear();
    }
    std::string listen, cleanup, error;
    std::string secret = random_hex(32);
    bridge_address address;
    if (secret.empty() || !make_private_address(listen, cleanup, error) ||
        !parse_bridge_address(listen, address, error)) {
      note_failure("cannot prepare the bridge's address: " +
                   (secret.empty() ? std::string("no randomness for the secret") : error));
      if (!sleep_until(clock_type::now() + backoff()))
        break;
      continue;
    }
    pool_.set_state(bridge_state::starting);
    // Every pool connection may be opening at once (plus the probe): below that, bursts
    // would see ERROR_PIPE_BUSY (iisnode's 503).
    std::size_t pending_instances = config_.max_connections + 1;
    launch_spec spec{config_.node, config_.bridge_script, ini_path_,        listen,
                     secret,       config_.log_file,      pending_instances};
    auto started = clock_type::now();
    std::unique_ptr<child_process> child = child_process::launch(spec, error);
    if (!child) {
      remove_private_address(cleanup);
      note_failure("cannot start the bridge: " + error);
      if (!sleep_until(clock_type::now() + backoff()))
        break;
      continue;
    }
    std::uint32_t pid = child->pid();
    for (const std::string& w : child->warnings())
      log_.warn(w);
    std::shared_ptr<const server_family> family = child->family();
    log_.info("bridge starting: pid " + std::to_string(pid) + ", " + config_.node + " " +
              config_.bridge_script + " bridge --listen " + listen);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      child_ = std::move(child);
      child_running_ = true;
    }
    // Wait for readiness: a connect succeeds, the child exits, or startup_timeout passes.
    bool ready = false;
    std::string exit_status;
    auto deadline = started + config_.startup_timeout;
    auto poll = std::chrono::milliseconds(20);
    std::string verdict, last_refusal;
    while (!stopping()) {
      probe_result probe = probe_address(address, *family);
      verdict = probe.verdict;
      if (probe.ready) {
        ready = true;
        if (!probe.warning.empty())
          log_.error("bridge pipe " + listen + ": " + probe.warning);
        break;
      }
      if (!verdict.empty() && verdict != last_refusal) // once per distinct refusal
        log_.error("bridge pipe " + listen + ": " + verdict);
      last_refusal = verdict;
      if (child_->exited(exit_status))
        break;
      if (clock_type::now() >= deadline)
        break;
      sleep_until(clock_type::now() + poll);
      poll = std::min(poll * 2, std::chrono::milliseconds(250));
    }
    if (ready) {
      bridge_target target;
      target.address = address;
      target.secret = secret;
      target.generation = ++generation_;
      target.server = family;
      pool_.set_target(target);
      pool_.set_state(bridge_state::ready);
      log_.info("bridge ready: pid " + std::to_string(pid) + " at " + listen +
                (verdict.empty() ? std::string() : ", " + verdict) + " after " +
                std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   clock_type::now() - started)
                                   .count()) +
                " ms");
      exit_status = child_->wait(); // blocks until it exits (or stop() ends it)
    } else if (!stopping()) {
      if (exit_status.empty()) {
        log_.error("bridge pid " + std::to_string(pid) + " did not accept connections within " +
                   "startup_timeout (" + std::to_string(config_.startup_timeout.count()) +
                   " ms); killing it");
        child_->kill();
        exit_status = child_->wait();
      }
    } else {
      child_->terminate();
      exit_status = child_->wait();
    }
    bool ran_long = clock_type::now() - started > std::chrono::minutes(1);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      child_running_ = false;
    }
    wake_.notify_all();
    remove_private_address(cleanup);
    if (stopping()) {
      log_.info("bridge stopped: pid " + std::to_string(pid) + " (" + exit_status + ")");
      break;
    }
    if (ran_long)
      consecutive_failures_ = 0;
    pool_.set_state(bridge_state::restarting);
    note_failure("bridge exited: pid " + std::to_string(pid) + " (" + exit_status + ")" +
                 (ready ? "; restarting" : " before it was ready; restarting") + " in " +
                 std::to_string(backoff().count()) + " ms");
    if (!sleep_until(clock_type::now() + backoff()))
      break;
  }
  pool_.set_state(bridge_state::stopped);
}

void supervisor::stop(std::chrono::milliseconds grace) {
  {
    std::unique_lock<std::mutex> lock(mutex_);
    stopping_ = true;
    if (child_ && child_running_) {
      child_->terminate();
      wake_.notify_all();
      if (!wake_.wait_for(lock, grace, [&] { return !child_running_; }))
        child_->kill();
    }
  }
  wake_.notify_all();
  if (thread_.joinable())
    thread_.join();
  child_.reset();
}

std::string random_hex(std::size_t bytes) {
  std::vector<unsigned char> b(bytes);
  if (!random_bytes(b.data(), bytes))
    return {};
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : b) {
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  return out;
}

} // namespace kallithea_isapi
