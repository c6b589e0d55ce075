#include "pool/bridge_stream.hpp"

#if defined(_WIN32)
#include "platform/files.hpp"
#include "platform/pipe_security.hpp"

#include <windows.h>
#else
#include <poll.h>
#endif

namespace kallithea_isapi {

void bridge_stream::async_connect(const bridge_target& target,
                                  std::function<void(std::error_code)> done) {
  secret_ = target.secret;
  generation_ = target.generation;
  const bridge_address& a = target.address;
  switch (a.type) {
  case bridge_address::kind::unix_socket: {
    unix_ = std::make_unique<asio::local::stream_protocol::socket>(io_);
    unix_->async_connect(asio::local::stream_protocol::endpoint(a.path),
                         [done = std::move(done)](std::error_code ec) { done(ec); });
    return;
  }
  case bridge_address::kind::tcp: {
    std::error_code ec;
    auto ip = asio::ip::make_address(a.host, ec);
    if (ec) {
      asio::post(io_, [done = std::move(done), ec] { done(ec); });
      return;
    }
    tcp_ = std::make_unique<asio::ip::tcp::socket>(io_);
    tcp_->async_connect(asio::ip::tcp::endpoint(ip, a.port),
                        [this, done = std::move(done)](std::error_code ec) {
                          if (!ec)
                            tcp_->set_option(asio::ip::tcp::no_delay(true), ec);
                          done(ec);
                        });
    return;
  }
  case bridge_address::kind::pipe: {
#if defined(_WIN32)
    // Opening a pipe client is immediate: it succeeds, or fails with ERROR_PIPE_BUSY (all
    // instances taken; the pool retries with back-off) or FILE_NOT_FOUND (not listening).
    // SECURITY_IDENTIFICATION: whoever serves the pipe may learn who we are, but cannot act
    // as the worker identity (the default, impersonation, would let a squatter do so).
    // Connect mode: READ_CONTROL as well, so the log can say what the DACL of a pipe someone
    // else created admits (the DACL may not grant it: then without).
    const std::wstring path = widen(a.path);
    const DWORD flags = FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION;
    const DWORD access = GENERIC_READ | GENERIC_WRITE;
    HANDLE h = CreateFileW(path.c_str(), target.server ? access : access | READ_CONTROL, 0, nullptr,
                           OPEN_EXISTING, flags, nullptr);
    if (h == INVALID_HANDLE_VALUE && !target.server && GetLastError() == ERROR_ACCESS_DENIED)
      h = CreateFileW(path.c_str(), access, 0, nullptr, OPEN_EXISTING, flags, nullptr);
    std::error_code ec;
    if (h == INVALID_HANDLE_VALUE) {
      ec = std::error_code(static_cast<int>(GetLastError()), asio::error::get_system_category());
    } else {
      ULONG server_pid = 0;
      bool known = GetNamedPipeServerProcessId(h, &server_pid) != FALSE;
      server_pid_ = known ? static_cast<std::uint32_t>(server_pid) : 0;
      std::string how;
      if (target.server && (!known || !target.server->contains(server_pid_, how))) {
        // Someone else owns the name: never send them a request.
        CloseHandle(h);
        ec = asio::error::access_denied;
      } else {
        pipe_ = std::make_unique<asio::windows::stream_handle>(io_);
        pipe_->assign(h, ec);
        if (ec)
          CloseHandle(h);
      }
    }
    asio::post(io_, [done = std::move(done), ec] { done(ec); });
#else
    asio::post(io_, [done = std::move(done)] { done(asio::error::operation_not_supported); });
#endif
    return;
  }
  }
}

std::string bridge_stream::pipe_access() const {
#if defined(_WIN32)
  if (pipe_ && pipe_->is_open())
    return describe_pipe_access(pipe_->native_handle()); // the pointer, not the handle, is const
#endif
  return {};
}

bool bridge_stream::readable_now() {
#if defined(_WIN32)
  return false; // Windows hands out only after the watch completed (see bridge_pool)
#else
  int fd = unix_ ? unix_->native_handle() : tcp_ ? tcp_->native_handle() : -1;
  if (fd < 0)
    return true; // not open: as good as closed
  pollfd p{};
  p.fd = fd;
  p.events = POLLIN;
  return ::poll(&p, 1, 0) != 0; // readable, hung up, or poll failed: do not use it
#endif
}

namespace {

/// One write_some that never waits (the socket is put in non-blocking mode once: asio's own
/// operations work the same either way); a full socket is 0 bytes and no error.
template <class Socket>
std::size_t write_without_waiting(Socket& s, asio::const_buffer b, std::error_code& ec) {
  if (!s.non_blocking()) {
    s.non_blocking(true, ec);
    if (ec)
      return 0;
  }
  std::size_t n = s.write_some(b, ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) {
    ec.clear();
    return 0;
  }
  return n;
}

} // namespace

std::size_t bridge_stream::write_now(asio::const_buffer b, std::error_code& ec) {
  ec.clear();
  if (unix_)
    return write_without_waiting(*unix_, b, ec);
  if (tcp_)
    return write_without_waiting(*tcp_, b, ec);
  return 0; // a pipe: the caller writes asynchronously
}

bool bridge_stream::try_send_now(asio::const_buffer b) {
  std::error_code ec;
  if (!unix_ && !tcp_)
    return false; // a pipe: closing it tells the bridge as much
  return write_now(b, ec) == b.size() && !ec;
}

void bridge_stream::cancel() {
  std::error_code ignored;
  if (unix_)
    unix_->cancel(ignored);
  if (tcp_)
    tcp_->cancel(ignored);
#if defined(_WIN32)
  if (pipe_)
    pipe_->cancel(ignored);
#endif
}

void bridge_stream::close() {
  std::error_code ignored;
  if (unix_)
    unix_->close(ignored);
  if (tcp_)
    tcp_->close(ignored);
#if defined(_WIN32)
  if (pipe_)
    pipe_->close(ignored);
#endif
}

} // namespace kallithea_isapi
