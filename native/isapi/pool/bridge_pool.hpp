// The pool of keep-conn FastCGI connections to the bridge host. At most max_connections
// exist; a request that finds none idle and the pool full waits in a FIFO of at most
// max_queued; beyond that it is refused at once (the request answers 503 + Retry-After).
// New connections are tried with back-off until connect_timeout (ERROR_PIPE_BUSY, a bridge
// still starting); once a connect gives up, every waiter is failed at once, since they
// would all wait for the same unreachable bridge.
//
// Idle connections get a watch armed (bridge_stream::async_watch): bytes or EOF from the
// bridge drop the connection, so a connection the bridge closed or wrote into while idle is
// never handed to a request (and one handed out is checked once more: readable_now). A
// socket's watch is armed by a sweep up to watch_delay after it went idle, not as it goes
// idle: a connection back in use within that time (the busy case) never arms one, which
// would cost a syscall per request and a completion with each answer. The pool lives as long as the
// runtime; shutdown() fails every waiter.
#pragma once

#include "config/config.hpp"
#include "log/log.hpp"
#include "pool/bridge_stream.hpp"
#include "runtime/io_threads.hpp"

#include <asio.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
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

/// The state's name, for the log and the status page.
const char* describe(bridge_state s);

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
  using connection = std::shared_ptr<bridge_stream>;
  /// Runs on some io_context thread, or inline in acquire(); the request goes on from there
  /// on its own strand.
  using acquire_handler = std::function<void(acquire_error, connection)>;
  /// Names a queued acquire, so its request can leave the queue (0: not queued).
  using ticket = std::uint64_t;

  /// How long a socket may sit idle unwatched (see above).
  static constexpr std::chrono::milliseconds watch_delay{10};

  /// Each new connection is bound to the next of `ios` (its completions run on that thread).
  bridge_pool(io_threads& ios, const config& cfg, logger& log);

  /// Gets an idle connection, a new one, or a place in the queue. Returns the queue ticket
  /// when the handler waits in the queue, 0 when it ran or a connect is under way.
  ticket acquire(acquire_handler handler);

  /// Takes a waiter out of the queue (its deadline passed or its client left). False when it
  /// is no longer queued: its handler runs or ran, and gets a connection to give back.
  bool cancel_wait(ticket t);

  /// Gives a connection back after a clean END_REQUEST (reusable) or drops it: closing it
  /// ends any operation still in flight, whose handler holds the last reference.
  void release(connection c, bool reusable);

  /// Publishes where the bridge now listens; idle connections to older launches are dropped.
  void set_target(const bridge_target& target);
  void set_state(bridge_state s);
  bridge_state state() const;

  /// Fails every waiter and closes idle connections; later acquires fail with stopping.
  void shutdown();

  std::size_t live_connections() const;
  std::size_t idle_connections() const;
  std::size_t queued() const;

private:
  struct attempt; // one new connection being opened, with its retries
  struct waiter {
    ticket id;
    acquire_handler handler;
  };

  void start_connect(acquire_handler handler);
  void connect_once(std::shared_ptr<attempt> a);
  void on_connect_failed(std::shared_ptr<attempt> a, std::error_code ec);
  /// Logs the PID serving a pipe connection when it differs from the last one logged.
  void note_server(const bridge_stream& s);
  /// A slot freed up (a connection dropped): start a connect for the next waiter.
  void hand_slot_to_waiter(std::unique_lock<std::mutex>& lock);
  /// Puts `c` in idle_ and arms its watch (under the lock, so no acquire sees it unwatched).
  void park_locked(connection c);
  void on_watch(const connection& c, bool cancelled);
  /// Arms watches on the idle sockets that have none (sweep_ fired).
  void on_sweep();
  void drop_locked(const connection& c);
  /// Drops a connection found readable as it was handed out, and says so.
  void drop_unexpected_locked(const connection& c);

  io_threads& ios_;
  const config& config_;
  logger& log_;
  mutable std::mutex mutex_;
  bridge_target target_;
  bridge_state state_ = bridge_state::starting;
  std::vector<connection> idle_;
  /// Windows pipes: taken from idle_, watch cancelled, handed out when the watch completes.
  std::vector<std::pair<connection, acquire_handler>> handing_over_;
  std::size_t live_ = 0; ///< idle + handing over + in use + being connected
  std::deque<waiter> waiters_;
  ticket next_ticket_ = 1;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point last_unreachable_log_{};
  std::uint32_t last_server_pid_ = 0; ///< guarded by mutex_
  asio::steady_timer sweep_;          ///< arms the watches of idle sockets (on_sweep)
  bool sweep_armed_ = false;          ///< sweep_ waits (guarded by mutex_)
};

} // namespace kallithea_isapi
