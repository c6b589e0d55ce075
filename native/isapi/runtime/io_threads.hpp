// The io threads: one io_context per thread, each run by that thread alone. A bridge
// connection is bound to one of them when it is opened (round robin), so its completions
// always run on that thread. With one io_context shared by every thread, asio woke a second
// thread to wait in epoll each time the first took a completion: a context switch per
// completion, the largest cost of a request with one in flight.
#pragma once

#include <asio.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

namespace kallithea_isapi {

class io_threads {
public:
  /// `n` io_contexts (at least one); no thread runs them until start().
  explicit io_threads(unsigned n);
  ~io_threads();

  /// Starts one thread per io_context; each calls `run(its io_context)`, which returns when
  /// the io_context is stopped.
  void start(const std::function<void(asio::io_context&)>& run);

  /// Stops every io_context and joins the threads. Handlers still queued are destroyed with
  /// this object: those of every io_context first, then the io_contexts, since a handler
  /// queued on one may hold a request whose timer or connection belongs to another.
  void stop();

  /// The io_context the next connection (or timer) is bound to. Any thread.
  asio::io_context& next();

  /// The first io_context, without advancing next()'s round robin (for a long-lived timer
  /// that should not change which threads the connections are bound to). Any thread.
  asio::io_context& first() { return *contexts_.front(); }

  std::size_t size() const { return contexts_.size(); }

private:
  /// An io_context whose pending handlers can be destroyed before it is (shutdown()).
  class context : public asio::io_context {
  public:
    context() : asio::io_context(1) {} // one thread runs it: asio skips waking others
    using asio::execution_context::shutdown;
  };
  using work_guard = asio::executor_work_guard<asio::io_context::executor_type>;
  std::vector<std::unique_ptr<context>> contexts_;
  std::vector<std::optional<work_guard>> work_;
  std::vector<std::thread> threads_;
  std::atomic<unsigned> next_{0};
};

} // namespace kallithea_isapi
