// The pool of keep-conn FastCGI connections to the bridge host. At most max_connections
// exist; a request that finds none idle and the pool full waits in a FIFO of at most
// max_queued; beyond that it is refused at once (the request answers 503 + Retry-After).
// New connections are tried with back-off until connect_timeout (ERROR_PIPE_BUSY, a bridge
// still starting). The pool lives as long as the runtime; shutdown() fails every waiter.
#pragma once

#include "config/config.hpp"
#include "log/log.hpp"
#include "pool/bridge_stream.hpp"

#include <asio.hpp>

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace kallithea_isapi {

/// How far the bridge is from serving, as the supervisor reports it.
enum class bridge_state {
  starting,   ///< launched, not yet accepting
  ready,      ///< a connect succeeded
  restarting, ///< exited; waiting out the back-off
  failed,     ///< rapid-fail protection tripped; requests get 503 until it retries
  stopped,    ///< TerminateExtension
};

/// Why an acquire failed; the request turns it into a page.
enum class acquire_error {
  none,
  overloaded,  ///< queue full: 503 + Retry-After
  unavailable, ///< bridge starting, restarting or failed: 503 + Retry-After
  unreachable, ///< connects failed until connect_timeout: 502
  stopping,    ///< extension terminating: 503
};

class bridge_pool {
public:
  using connection = std::unique_ptr<bridge_stream>;
  /// Runs on some io_context thread; the request posts onward to its own strand.
  using acquire_handler = std::function<void(acquire_error, connection)>;

  bridge_pool(asio::io_context& io, const config& cfg, logger& log);

  /// Gets an idle connection, a new one, or a place in the queue. `fresh` skips idle ones
  /// (the retry after a dead pooled connection).
  void acquire(acquire_handler handler, bool fresh = false);

  /// Gives a connection back after END_REQUEST (reusable) or drops it (anything else).
  void release(connection c, bool reusable);

  /// Publishes where the bridge now listens; idle connections to older launches are dropped.
  void set_target(const bridge_target& target);
  void set_state(bridge_state s);
  bridge_state state() const;

  /// Fails every waiter and closes idle connections; later acquires fail with stopping.
  void shutdown();

  std::size_t live_connections() const;
  std::size_t idle_connections() const;

private:
  struct attempt; // one new connection being opened, with its retries

  void start_connect(acquire_handler handler);
  void connect_once(std::shared_ptr<attempt> a);
  void on_connect_failed(std::shared_ptr<attempt> a, std::error_code ec);
  /// A slot freed up (a connection dropped): start a connect for the next waiter.
  void hand_slot_to_waiter(std::unique_lock<std::mutex>& lock);

  asio::io_context& io_;
  const config& config_;
  logger& log_;
  mutable std::mutex mutex_;
  bridge_target target_;
  bridge_state state_ = bridge_state::starting;
  std::vector<connection> idle_;
  std::size_t live_ = 0; ///< idle + in use + being connected
  std::deque<acquire_handler> waiters_;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point last_unreachable_log_{};
};

} // namespace kallithea_isapi
