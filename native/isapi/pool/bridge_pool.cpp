#include "pool/bridge_pool.hpp"

namespace kallithea_isapi {

/// One connection being opened: owns the stream until it connects or gives up.
struct bridge_pool::attempt {
  attempt(asio::io_context& io) : strand(asio::make_strand(io)), timer(io), connect_timer(strand) {}
  asio::strand<asio::io_context::executor_type> strand; ///< orders the connect and its timer
  acquire_handler handler;
  connection stream;
  bridge_target target;
  asio::steady_timer timer; ///< back-off between tries
  asio::basic_waitable_timer<std::chrono::steady_clock,
                             asio::wait_traits<std::chrono::steady_clock>,
                             asio::strand<asio::io_context::executor_type>>
      connect_timer; ///< bounds one try (a TCP SYN can hang for minutes)
  std::chrono::steady_clock::time_point deadline;
  std::chrono::milliseconds backoff{25};
  unsigned tries = 0;
};

bridge_pool::bridge_pool(asio::io_context& io, const config& cfg, logger& log)
    : io_(io), config_(cfg), log_(log) {}

void bridge_pool::acquire(acquire_handler handler, bool fresh) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (stopping_) {
    lock.unlock();
    handler(acquire_error::stopping, nullptr);
    return;
  }
  if (state_ == bridge_state::failed || state_ == bridge_state::stopped) {
    lock.unlock();
    handler(acquire_error::unavailable, nullptr);
    return;
  }
  if (fresh) {
    // A pooled connection was dead: the others of its launch probably are too.
    live_ -= idle_.size();
    idle_.clear();
  }
  while (!idle_.empty()) {
    connection c = std::move(idle_.back());
    idle_.pop_back();
    if (c->generation() == target_.generation) {
      lock.unlock();
      handler(acquire_error::none, std::move(c));
      return;
    }
    --live_; // from an older launch: drop it
  }
  if (live_ < config_.max_connections) {
    ++live_;
    lock.unlock();
    start_connect(std::move(handler));
    return;
  }
  if (waiters_.size() >= config_.max_queued) {
    lock.unlock();
    handler(acquire_error::overloaded, nullptr);
    return;
  }
  waiters_.push_back(std::move(handler));
}

void bridge_pool::release(connection c, bool reusable) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (reusable && c && !stopping_ && c->generation() == target_.generation) {
    ++c->uses;
    if (!waiters_.empty()) {
      acquire_handler next = std::move(waiters_.front());
      waiters_.pop_front();
      lock.unlock();
      next(acquire_error::none, std::move(c));
      return;
    }
    idle_.push_back(std::move(c));
    return;
  }
  c.reset();
  --live_;
  hand_slot_to_waiter(lock);
}

void bridge_pool::hand_slot_to_waiter(std::unique_lock<std::mutex>& lock) {
  if (stopping_ || waiters_.empty() || live_ >= config_.max_connections)
    return;
  acquire_handler next = std::move(waiters_.front());
  waiters_.pop_front();
  ++live_;
  lock.unlock();
  start_connect(std::move(next));
}

void bridge_pool::start_connect(acquire_handler handler) {
  auto a = std::make_shared<attempt>(io_);
  a->handler = std::move(handler);
  a->deadline = std::chrono::steady_clock::now() + config_.connect_timeout;
  connect_once(std::move(a));
}

void bridge_pool::connect_once(std::shared_ptr<attempt> a) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    a->target = target_;
  }
  ++a->tries;
  a->stream = std::make_unique<bridge_stream>(io_);
  bridge_stream* s = a->stream.get();
  a->connect_timer.expires_at(a->deadline);
  a->connect_timer.async_wait([a, s](std::error_code ec) {
    if (!ec && a->stream.get() == s)
      s->close(); // the connect completes with operation_aborted
  });
  s->async_connect(a->target, [this, a](std::error_code ec) {
    asio::post(a->strand, [this, a, ec] {
      a->connect_timer.cancel();
      if (ec)
        return on_connect_failed(a, ec);
      a->handler(acquire_error::none, std::move(a->stream));
    });
  });
}

void bridge_pool::on_connect_failed(std::shared_ptr<attempt> a, std::error_code ec) {
  a->stream.reset();
  std::unique_lock<std::mutex> lock(mutex_);
  bool give_up = stopping_ || state_ == bridge_state::failed || state_ == bridge_state::stopped ||
                 std::chrono::steady_clock::now() + a->backoff >= a->deadline;
  if (!give_up) {
    lock.unlock();
    a->timer.expires_after(a->backoff);
    a->backoff = std::min(a->backoff * 2, std::chrono::milliseconds(1000));
    a->timer.async_wait([this, a](std::error_code) { connect_once(a); });
    return;
  }
  bridge_state s = state_;
  bool stopping = stopping_;
  --live_;
  auto now = std::chrono::steady_clock::now();
  bool log_it = now - last_unreachable_log_ > std::chrono::seconds(5);
  if (log_it)
    last_unreachable_log_ = now;
  // In spawn mode there is no address until the supervisor has started a bridge.
  std::string where = a->target.address.text.empty() ? std::string("(no bridge started yet)")
                                                     : a->target.address.text;
  hand_slot_to_waiter(lock); // unlocks when it hands a slot on
  if (log_it && !stopping)
    log_.error("bridge unreachable at " + where + " after " + std::to_string(a->tries) +
               " connect attempts: " + ec.message());
  acquire_error e = stopping                   ? acquire_error::stopping
                    : s == bridge_state::ready ? acquire_error::unreachable
                                               : acquire_error::unavailable;
  a->handler(e, nullptr);
}

void bridge_pool::set_target(const bridge_target& target) {
  std::lock_guard<std::mutex> lock(mutex_);
  target_ = target;
  live_ -= idle_.size();
  idle_.clear();
}

void bridge_pool::set_state(bridge_state s) {
  std::deque<acquire_handler> failed;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    state_ = s;
    if (s == bridge_state::failed || s == bridge_state::stopped)
      failed.swap(waiters_);
  }
  for (auto& h : failed)
    h(acquire_error::unavailable, nullptr);
}

bridge_state bridge_pool::state() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return state_;
}

void bridge_pool::shutdown() {
  std::deque<acquire_handler> failed;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    failed.swap(waiters_);
    live_ -= idle_.size();
    idle_.clear();
  }
  for (auto& h : failed)
    h(acquire_error::stopping, nullptr);
}

std::size_t bridge_pool::live_connections() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return live_;
}

std::size_t bridge_pool::idle_connections() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return idle_.size();
}

} // namespace kallithea_isapi
