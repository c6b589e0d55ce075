// One FastCGI connection to the bridge host: a Unix socket, a loopback TCP socket, or (on
// Windows) an overlapped named pipe. Held by std::shared_ptr: the pool holds it while idle,
// a request from acquire to release, and every outstanding read, write or watch holds it in
// its handler. Releasing a connection with an operation in flight closes it; the operation
// completes with operation_aborted and its handler drops the last reference, so no
// completion ever touches a freed socket. It ends when the last holder lets go.
#pragma once

#include "pool/address.hpp"
#include "pool/server_family.hpp"

#include <asio.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <system_error>

namespace kallithea_isapi {

/// Where the bridge is, as the supervisor (or connect mode) last published it.
struct bridge_target {
  bridge_address address;
  std::string secret;
  std::uint64_t generation = 0; ///< bumped per bridge launch; older connections are discarded
  /// Windows spawn mode: who may serve the pipe (nullptr in connect mode: any server).
  std::shared_ptr<const server_family> server;
};

class bridge_stream {
public:
  explicit bridge_stream(asio::io_context& io) : io_(io) {}
  ~bridge_stream() { close(); }
  bridge_stream(const bridge_stream&) = delete;
  bridge_stream& operator=(const bridge_stream&) = delete;

  /// One connect attempt; `done` runs on an io_context thread (not on any strand).
  void async_connect(const bridge_target& target, std::function<void(std::error_code)> done);

  /// Reads some bytes; the handler's associated executor (a strand) is kept.
  template <class Handler> void async_read_some(asio::mutable_buffer b, Handler&& h) {
    if (unix_)
      unix_->async_read_some(b, std::forward<Handler>(h));
    else if (tcp_)
      tcp_->async_read_some(b, std::forward<Handler>(h));
#if defined(_WIN32)
    else if (pipe_)
      pipe_->async_read_some(b, std::forward<Handler>(h));
#endif
    else
      asio::post(io_, asio::bind_executor(asio::get_associated_executor(h, io_.get_executor()),
                                          [h = std::forward<Handler>(h)]() mutable {
                                            h(asio::error::not_connected, 0);
                                          }));
  }

  /// Writes some of the buffer. One operation, not asio's composed async_write: that one
  /// issues its next write from the io thread, outside the owner's serial steps.
  template <class Handler> void async_write_some(asio::const_buffer b, Handler&& h) {
    if (unix_)
      unix_->async_write_some(b, std::forward<Handler>(h));
    else if (tcp_)
      tcp_->async_write_some(b, std::forward<Handler>(h));
#if defined(_WIN32)
    else if (pipe_)
      pipe_->async_write_some(b, std::forward<Handler>(h));
#endif
    else
      asio::post(io_, asio::bind_executor(asio::get_associated_executor(h, io_.get_executor()),
                                          [h = std::forward<Handler>(h)]() mutable {
                                            h(asio::error::not_connected, 0);
                                          }));
  }

  /// The idle watch, armed while the connection sits in the pool: `h(bool cancelled)` runs
  /// with true after cancel() (the connection may be handed out) and with false when the
  /// peer sent something or closed (the connection must be dropped). Sockets wait for
  /// readability; a pipe (no async_wait on Windows handles) reads one byte, so on a pipe the
  /// watch must complete before the connection is used again.
  template <class Handler> void async_watch(Handler&& h) {
    if (unix_)
      unix_->async_wait(asio::socket_base::wait_read,
                        [h = std::forward<Handler>(h)](std::error_code ec) mutable {
                          h(ec == asio::error::operation_aborted);
                        });
    else if (tcp_)
      tcp_->async_wait(asio::socket_base::wait_read,
                       [h = std::forward<Handler>(h)](std::error_code ec) mutable {
                         h(ec == asio::error::operation_aborted);
                       });
#if defined(_WIN32)
    else if (pipe_)
      pipe_->async_read_some(
          asio::buffer(&probe_, 1),
          [h = std::forward<Handler>(h)](std::error_code ec, std::size_t n) mutable {
            h(ec == asio::error::operation_aborted && n == 0);
          });
#endif
    else
      asio::post(io_, [h = std::forward<Handler>(h)]() mutable { h(false); });
  }

  /// Whether handing the connection out must wait for the watch's completion (a pipe's
  /// watch may have consumed a byte) rather than only cancel it.
  bool watch_consumes() const {
#if defined(_WIN32)
    return pipe_ != nullptr;
#else
    return false;
#endif
  }

  /// Sockets: true when bytes or EOF wait to be read right now (checked without blocking
  /// as an idle connection is handed out: the watch's completion may still be queued).
  bool readable_now();

  /// Writes as much of `b` as fits without waiting and returns the count: 0 when the socket
  /// is full, and always on a pipe (Windows: only overlapped writes). A failure is in `ec`.
  /// Any thread that holds the connection, with no other write outstanding.
  std::size_t write_now(asio::const_buffer b, std::error_code& ec);

  /// Sends `b` only if it fits without waiting (sockets); false otherwise. For
  /// FCGI_ABORT_REQUEST just before closing: a full socket must never hold up a release.
  bool try_send_now(asio::const_buffer b);

  /// Cancels outstanding operations (they complete with operation_aborted).
  void cancel();

  /// Closes the handle; outstanding operations complete with operation_aborted.
  void close();

  const std::string& secret() const {
    return secret_;
  }
  std::uint64_t generation() const {
    return generation_;
  }
  /// Windows pipes: the PID of the process serving the pipe (0 when unknown / a socket).
  std::uint32_t server_pid() const {
    return server_pid_;
  }
  /// Windows pipes in connect mode: what the pipe's DACL admits beyond this worker, for the
  /// log (see describe_pipe_access); empty on sockets and elsewhere.
  std::string pipe_access() const;
  /// Requests served on this connection so far (0 = fresh).
  std::uint64_t uses = 0;
  /// An idle watch is out (guarded by the pool's lock): at most one at a time.
  bool watching = false;

private:
  asio::io_context& io_;
  std::unique_ptr<asio::local::stream_protocol::socket> unix_;
  std::unique_ptr<asio::ip::tcp::socket> tcp_;
#if defined(_WIN32)
  std::unique_ptr<asio::windows::stream_handle> pipe_;
  std::uint8_t probe_ = 0; ///< the idle watch's one-byte read lands here
#endif
  std::string secret_;
  std::uint64_t generation_ = 0;
  std::uint32_t server_pid_ = 0;
};

} // namespace kallithea_isapi
