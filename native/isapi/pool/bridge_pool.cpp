#include "pool/bridge_pool.hpp"

#include <algorithm>

namespace kallithea_isapi {

const char* describe(bridge_state s) {
  switch (s) {
  case bridge_state::starting:
    return "starting";
  case bridge_state::ready:
    return "ready";
  case bridge_state::restarting:
    return "restarting";
  case bridge_state::failed:
    return "failed";
  case bridge_state::stopped:
    return "stopped";
  }
  return "unknown";
}

/// One connection being opened: owns the stream until it connects or gives up.
struct bridge_pool::attempt {
  attempt(asio::io_context& io)
      : io(io), strand(asio::make_strand(io)), timer(io), connect_timer(strand) {}
  asio::io_context& io; ///< the io thread the connection is bound to
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

bridge_pool::bridge_pool(io_threads& ios, const config& cfg, logger& log)
    : ios_(ios), config_(cfg), log_(log), sweep_(ios.first()) {}

bridge_pool::ticket bridge_pool::acquire(acquire_handler handler) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (stopping_) {
    lock.unlock();
    handler(acquire_error::stopping, nullptr);
    return 0;
  }
  if (state_ == bridge_state::failed || state_ == bridge_state::stopped) {
    lock.unlock();
    handler(acquire_error::unavailable, nullptr);
    return 0;
  }
  while (!idle_.empty()) {
    connection c = std::move(idle_.back());
    idle_.pop_back();
    if (c->generation() != target_.generation) {
      drop_locked(c); // from an older launch
      continue;
    }
    if (c->watch_consumes()) {
      // A pipe's watch is a 1-byte read: end it, and hand over only once it completed with
      // nothing.
      c->cancel();
      handing_over_.emplace_back(std::move(c), std::move(handler));
      return 0;
    }
    // A socket's watch stays armed: it completes (finding c no longer idle) as the first
    // answer arrives, ahead of the request's read, on the connection's io thread. Cancelling
    // it here would wake that thread for nothing on every request.
    if (c->readable_now()) {
      // Bytes after END_REQUEST not yet read when the request ended, or the bridge wrote
      // or closed while the watch's news was on its way.
      drop_unexpected_locked(c);
      continue;
    }
    lock.unlock();
    handler(acquire_error::none, std::move(c));
    return 0;
  }
  if (live_ < config_.max_connections) {
    ++live_;
    lock.unlock();
    start_connect(std::move(handler));
    return 0;
  }
  if (waiters_.size() >= config_.max_queued) {
    lock.unlock();
    handler(acquire_error::overloaded, nullptr);
    return 0;
  }
  ticket t = next_ticket_++;
  waiters_.push_back(waiter{t, std::move(handler)});
  return t;
}

bool bridge_pool::cancel_wait(ticket t) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it =
      std::find_if(waiters_.begin(), waiters_.end(), [t](const waiter& w) { return w.id == t; });
  if (it == waiters_.end())
    return false;
  waiters_.erase(it);
  return true;
}

void bridge_pool::release(connection c, bool reusable) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!reusable || !c || stopping_ || c->generation() != target_.generation) {
    if (c)
      drop_locked(c);
    else
      --live_;
    hand_slot_to_waiter(lock);
    return;
  }
  ++c->uses;
  if (!waiters_.empty() && c->readable_now()) {
    // As in acquire: what the bridge sent after END_REQUEST must not reach the next request.
    drop_unexpected_locked(c);
    hand_slot_to_waiter(lock);
    return;
  }
  if (!waiters_.empty()) {
    acquire_handler next = std::move(waiters_.front().handler);
    waiters_.pop_front();
    lock.unlock();
    next(acquire_error::none, std::move(c));
    return;
  }
  park_locked(std::move(c));
}

void bridge_pool::park_locked(connection c) {
  connection watched = c;
  idle_.push_back(std::move(c));
  if (watched->watching)
    return; // the watch armed when it was last idle is still out (no byte came since)
  if (!watched->watch_consumes()) {
    // A socket: the sweep arms it if it is still idle then (see the header). One timer for
    // the pool, armed only if it is not already: no wake-up per request.
    if (!sweep_armed_) {
      sweep_armed_ = true;
      sweep_.expires_after(watch_delay);
      sweep_.async_wait([this](std::error_code ec) {
        if (!ec)
          on_sweep();
      });
    }
    return;
  }
  watched->watching = true;
  watched->async_watch([this, watched](bool cancelled) { on_watch(watched, cancelled); });
}

void bridge_pool::on_sweep() {
  std::unique_lock<std::mutex> lock(mutex_);
  sweep_armed_ = false;
  unsigned dropped = 0;
  for (auto it = idle_.begin(); it != idle_.end();) {
    connection c = *it;
    if (c->readable_now()) {
      // Closed or written into while idle and unwatched: what the watch would have seen.
      it = idle_.erase(it);
      drop_unexpected_locked(c);
      ++dropped;
      continue;
    }
    if (!c->watching) {
      c->watching = true;
      c->async_watch([this, c](bool cancelled) { on_watch(c, cancelled); });
    }
    ++it;
  }
  for (; dropped > 0; --dropped) {
    if (!lock.owns_lock())
      lock.lock();
    hand_slot_to_waiter(lock); // unlocks when it hands one
  }
}

void bridge_pool::on_watch(const connection& c, bool cancelled) {
  std::unique_lock<std::mutex> lock(mutex_);
  c->watching = false;
  auto over = std::find_if(handing_over_.begin(), handing_over_.end(),
                           [&](const auto& entry) { return entry.first == c; });
  if (over != handing_over_.end()) {
    acquire_handler handler = std::move(over->second);
    handing_over_.erase(over);
    if (cancelled) {
      lock.unlock();
      handler(acquire_error::none, c);
      return;
    }
    drop_locked(c);
    lock.unlock();
    acquire(std::move(handler)); // its ticket is lost: the request's deadline still holds
    return;
  }
  auto it = std::find(idle_.begin(), idle_.end(), c);
  if (it == idle_.end() || cancelled)
    return; // handed out (the request owns it now) or dropped already
  idle_.erase(it);
  drop_locked(c);
  log_.info("an idle bridge connection was closed by the bridge or received unexpected bytes; "
            "dropped");
  hand_slot_to_waiter(lock);
}

void bridge_pool::drop_unexpected_locked(const connection& c) {
  drop_locked(c);
  log_.warn("bridge sent bytes after END_REQUEST or closed the connection; the connection is "
            "not reused");
}

void bridge_pool::drop_locked(const connection& c) {
  c->close(); // operations in flight complete with operation_aborted and let go of it
  --live_;
}

void bridge_pool::hand_slot_to_waiter(std::unique_lock<std::mutex>& lock) {
  if (stopping_ || waiters_.empty() || live_ >= config_.max_connections)
    return;
  acquire_handler next = std::move(waiters_.front().handler);
  waiters_.pop_front();
  ++live_;
  lock.unlock();
  start_connect(std::move(next));
}

void bridge_pool::start_connect(acquire_handler handler) {
  auto a = std::make_shared<attempt>(ios_.next());
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
  a->stream = std::make_shared<bridge_stream>(a->io);
  connection s = a->stream;
  a->connect_timer.expires_at(a->deadline);
  a->connect_timer.async_wait([a, s](std::error_code ec) {
    if (!ec && a->stream == s)
      s->close(); // the connect completes with operation_aborted
  });
  s->async_connect(a->target, [this, a](std::error_code ec) {
    asio::post(a->strand, [this, a, ec] {
      a->connect_timer.cancel();
      if (ec)
        return on_connect_failed(a, ec);
      note_server(*a->stream);
      a->handler(acquire_error::none, std::move(a->stream));
    });
  });
}

void bridge_pool::note_server(const bridge_stream& s) {
  // A pipe's server PID, said whenever it changes: in connect mode nothing else vouches for
  // who serves the configured name (spawn mode checks it against the bridge's job and
  // restricts the DACL itself), so the log also says what the pipe's DACL admits.
  std::uint32_t pid = s.server_pid();
  if (pid == 0)
    return;
  std::lock_guard<std::mutex> lock(mutex_);
  if (pid == last_server_pid_)
    return;
  last_server_pid_ = pid;
  std::string access = target_.server ? std::string() : s.pipe_access();
  log_.info("bridge pipe " + target_.address.path + " is served by pid " + std::to_string(pid) +
            (access.empty() ? std::string() : "; " + access));
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
  // Every waiter would wait connect_timeout for the same bridge in turn (with a full queue,
  // minutes): all of them get this answer now.
  std::deque<waiter> failed;
  failed.swap(waiters_);
  auto now = std::chrono::steady_clock::now();
  bool log_it = now - last_unreachable_log_ > std::chrono::seconds(5);
  if (log_it)
    last_unreachable_log_ = now;
  lock.unlock();
  // In spawn mode there is no address until the supervisor has started a bridge.
  std::string where = a->target.address.text.empty() ? std::string("(no bridge started yet)")
                                                     : a->target.address.text;
  if (log_it && !stopping)
    log_.error("bridge unreachable at " + where + " after " + std::to_string(a->tries) +
               " connect attempts: " + ec.message() + "; failing " +
               std::to_string(failed.size() + 1) + " waiting requests");
  acquire_error e = stopping                   ? acquire_error::stopping
                    : s == bridge_state::ready ? acquire_error::unreachable
                                               : acquire_error::unavailable;
  a->handler(e, nullptr);
  for (auto& w : failed)
    w.handler(e, nullptr);
}

void bridge_pool::set_target(const bridge_target& target) {
  std::lock_guard<std::mutex> lock(mutex_);
  target_ = target;
  for (auto& c : idle_)
    drop_locked(c);
  idle_.clear();
}

void bridge_pool::set_state(bridge_state s) {
  std::deque<waiter> failed;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    state_ = s;
    if (s == bridge_state::failed || s == bridge_state::stopped)
      failed.swap(waiters_);
  }
  for (auto& w : failed)
    w.handler(acquire_error::unavailable, nullptr);
}

bridge_state bridge_pool::state() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return state_;
}

void bridge_pool::shutdown() {
  std::deque<waiter> failed;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    sweep_.cancel();
    failed.swap(waiters_);
    for (auto& c : idle_)
      drop_locked(c);
    idle_.clear();
  }
  for (auto& w : failed)
    w.handler(acquire_error::stopping, nullptr);
}

std::size_t bridge_pool::live_connections() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return live_;
}

std::size_t bridge_pool::idle_connections() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return idle_.size();
}

std::size_t bridge_pool::queued() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return waiters_.size();
}

} // namespace kallithea_isapi
