#include "request/request.hpp"

#include "fastcgi/record.hpp"
#include "runtime/runtime.hpp"

#include <cassert>
#include <cstring>
#include <exception>

namespace kallithea_isapi {
namespace {

constexpr DWORD unknown_length = 0xFFFFFFFF;

/// The largest server variable read (ALL_RAW holds every header).
constexpr std::size_t max_variable = 1024 * 1024;

/// Server variables copied into PARAMS as they are (CONVENTIONS.md, "Params the DLL sends").
const char* const copied_variables[] = {
    "ALL_RAW",         "APPL_MD_PATH",    "APPL_PHYSICAL_PATH",
    "UNENCODED_URL",   "HTTP_URL",        "URL",
    "HTTPS",           "SERVER_NAME",     "SERVER_PORT",
    "SERVER_PROTOCOL", "SERVER_SOFTWARE", "SERVER_PORT_SECURE",
    "REMOTE_ADDR",     "REMOTE_PORT",     "REMOTE_HOST",
    "AUTH_TYPE",       "AUTH_USER",       "LOGON_USER",
    "REMOTE_USER",     "INSTANCE_ID",
};

/// Methods a second delivery cannot harm (RFC 9110 9.2.2).
bool idempotent(const std::string& m) {
  return m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "TRACE" || m == "PUT" || m == "DELETE";
}

/// Errors that say the peer had gone before our bytes reached it (a pooled connection the
/// bridge closed): nothing of the request can have been acted on.
bool peer_was_gone(std::error_code ec) {
  return ec == asio::error::broken_pipe || ec == asio::error::connection_reset ||
         ec == asio::error::eof || ec == asio::error::connection_aborted ||
         ec == asio::error::not_connected || ec == asio::error::shut_down;
}

} // namespace

request::request(runtime& rt, EXTENSION_CONTROL_BLOCK* ecb)
    : rt_(rt), ecb_(ecb), queue_timer_(rt.io()) {}

request::~request() {
  assert(lifecycle_ == lifecycle::done && "a request ended without DONE_WITH_SESSION");
  give_back_windows(); // those still held: a connection was held at DONE
}

void WINAPI request::on_isapi_complete(EXTENSION_CONTROL_BLOCK*, LPVOID context, DWORD cb,
                                       DWORD error) {
  // Host thread. isapi_self_ keeps the request alive until here; the step holds it from
  // now on, and lets go of isapi_self_ once it runs (the I/O is over).
  auto* r = static_cast<request*>(context);
  run_step(r->shared_from_this(), [r, cb, error] {
    r->isapi_self_.reset(); // run_step holds the request from here
    r->on_isapi_done(cb, error);
  });
}

request::step_count::step_count(runtime& rt) : rt_(rt) {
  rt_.step_began();
}

request::step_count::~step_count() {
  rt_.step_ended();
}

void request::start(std::optional<error_page> page) {
  run_step(shared_from_this(), [this, page = std::move(page)] {
    if (!ecb_.set_completion(&request::on_isapi_complete, this)) {
      rt_.log().error("host refused HSE_REQ_IO_COMPLETION; ending the request");
      finish(outcome::cut);
      return;
    }
    method_ = ecb_.raw()->lpszMethod ? ecb_.raw()->lpszMethod : "GET";
    if (page) {
      respond_with_page(*page);
      return;
    }
    do_collect_variables();
  });
}

void request::abort() {
  // Through an io thread: the caller (runtime::stop) holds the lock the request's end takes.
  asio::post(rt_.io(), [self = shared_from_this()] {
    run_step(self, [self] {
      if (self->lifecycle_ == lifecycle::finishing || self->lifecycle_ == lifecycle::done)
        return; // already ending: abort is idempotent
      self->fail_client("extension terminating: request aborted after drain_timeout");
    });
  });
}

// --- Request start -----------------------------------------------------------------------

std::string_view request::copy_variable(const char* name) {
  // Read straight into the PARAMS stream: no copy, and no zero fill of the room.
  std::size_t room = 1024;
  for (;;) {
    char* dest = params_.open_value(name, room);
    if (!dest)
      return {}; // refused already: do_send_start answers 431
    std::size_t size = 0;
    ecb_calls::variable_read r = ecb_.read_variable(name, dest, room, size);
    if (r == ecb_calls::variable_read::found)
      return params_.close_value(size);
    params_.drop_value();
    if (r == ecb_calls::variable_read::missing || room >= max_variable)
      return {};
    std::size_t next = room * 2;
    if (size > next && size <= max_variable)
      next = size;
    room = next < max_variable ? next : max_variable;
  }
}

void request::do_collect_variables() {
  EXTENSION_CONTROL_BLOCK* e = ecb_.raw();
  for (const char* name : copied_variables) {
    std::string_view value = copy_variable(name);
    if (std::strcmp(name, "SERVER_PROTOCOL") == 0)
      protocol_ = value; // the answer's framing depends on it
  }
  params_.add("REQUEST_METHOD", method_);
  params_.add("PATH_INFO", e->lpszPathInfo ? e->lpszPathInfo : "");
  params_.add("QUERY_STRING", e->lpszQueryString ? e->lpszQueryString : "");
  if (e->lpszContentType && *e->lpszContentType)
    params_.add("CONTENT_TYPE", e->lpszContentType);
  body_length_known_ = e->cbTotalBytes != unknown_length;
  body_total_ = body_length_known_ ? e->cbTotalBytes : 0;
  if (body_length_known_)
    params_.add("CONTENT_LENGTH", std::to_string(body_total_));
  params_.add("GATEWAY_INTERFACE", "CGI/1.1");
  if (is_status_path(e->lpszPathInfo))
    params_.add(status_param, encode_status(rt_.figures_for_status_page()));
  std::uint64_t pre = e->lpbData ? e->cbAvailable : 0;
  if (body_length_known_ && pre > body_total_)
    pre = body_total_;
  body_preread_ = body_received_ = pre;
  own_pairs_ = params_.mark();
  queue_deadline_ = std::chrono::steady_clock::now() + rt_.cfg().queue_timeout;
  do_acquire();
}

// --- Waiting for a connection ---------------------------------------------------------------

void request::do_acquire() {
  lifecycle_ = lifecycle::queued;
  auto self = shared_from_this();
  ticket_ = rt_.pool().acquire([self](acquire_error e, bridge_pool::connection c) {
    // An idle connection is handed over inside acquire(), within this request's step: go
    // on at once. Any other hand-over comes from the pool on another request's step or a
    // connect's completion: an io thread takes it, so one request's step never runs inside
    // another's.
    if (self->steps_.running_in_this_thread()) {
      self->on_connection(e, std::move(c));
      return;
    }
    asio::post(self->rt_.io(), [self, e, c = std::move(c)]() mutable {
      run_step(self,
               [self, e, c = std::move(c)]() mutable { self->on_connection(e, std::move(c)); });
    });
  });
  if (lifecycle_ == lifecycle::queued)
    do_watch_queue();
}

void request::do_watch_queue() {
  auto now = std::chrono::steady_clock::now();
  auto wait = queue_deadline_ > now ? queue_deadline_ - now : std::chrono::steady_clock::duration{};
  queue_timer_.expires_after(wait < queue_poll ? wait : queue_poll);
  queue_timer_.async_wait([self = shared_from_this()](std::error_code ec) {
    if (ec)
      return; // cancelled: a connection (or an answer) came first
    run_step(self, [self] {
      if (self->lifecycle_ == lifecycle::queued) // else a connection or an answer came first
        self->on_queue_tick();
    });
  });
}

void request::on_queue_tick() {
  if (!ecb_.is_connected()) {
    rt_.pool().cancel_wait(ticket_);
    fail_client("client went away while waiting for a bridge connection");
    return;
  }
  if (std::chrono::steady_clock::now() >= queue_deadline_) {
    rt_.pool().cancel_wait(ticket_);
    rt_.log().warn("503: waited queue_timeout for a bridge connection");
    respond_with_page(
        make_error_page(503, "The bridge host did not take the request within queue_timeout.", 5));
    return;
  }
  do_watch_queue();
}

void request::on_connection(acquire_error e, bridge_pool::connection c) {
  if (lifecycle_ != lifecycle::queued) {
    if (c)
      rt_.pool().release(std::move(c), true); // left the queue meanwhile: never used
    return;
  }
  queue_timer_.cancel();
  switch (e) {
  case acquire_error::none:
    break;
  case acquire_error::overloaded:
    rt_.log().warn("503: more than max_queued requests wait for a bridge connection");
    respond_with_page(
        make_error_page(503, "Too many requests are waiting for the bridge host.", 5));
    return;
  case acquire_error::unavailable:
    respond_with_page(make_error_page(
        503, "The bridge host is starting or restarting; see kallithea_isapi.log.", 10));
    return;
  case acquire_error::unreachable:
    respond_with_page(make_error_page(502, "The bridge host cannot be reached."));
    return;
  case acquire_error::stopping:
    respond_with_page(make_error_page(503, "The extension is shutting down.", 5));
    return;
  }
  conn_ = std::move(c);
  conn_uses_ = conn_->uses;
  lifecycle_ = lifecycle::connected;
  if (rx_.empty()) {
    // Only now: a queued request pins no window.
    rx_ = rt_.windows().get();
    out_ = rt_.windows().get();
  }
  do_send_start();
}

// --- Request start on the connection -------------------------------------------------------

void request::do_send_start() {
  // The secret is the connection's (it changes when the bridge restarts): added after the
  // request's own pairs, for this connection only (a retry rewinds to own_pairs_ first).
  params_.rewind(own_pairs_);
  params_.add("KALLITHEA_ISAPI_SECRET", conn_->secret());
  if (params_.error() != fastcgi::params_error::none) {
    std::string why =
        std::string(fastcgi::describe(params_.error())) + " (" + params_.offending_name() + ")";
    params_.rewind(own_pairs_);
    rt_.log().warn("431: " + why);
    release_connection(true); // nothing was sent on it
    respond_with_page(make_error_page(431, why + "."));
    return;
  }
  bool close_stdin = body_length_known_ && body_total_ == 0;
  // Framed where the pairs are (usually): the stream is left alone until the write ends.
  fastcgi::byte_range start = params_.frame(close_stdin, start_spill_);
  upload_ = upload::sending_start;
  // The answer's read is armed before the request goes out, while no byte of the answer can
  // be there: asio's speculative read then finds nothing, so the answer is read on the
  // connection's io thread (woken by its arrival anyway), not here on the IIS thread, which
  // would hand the bytes to the io thread with one more wake-up. It also takes an answer
  // the bridge gives before it has read the whole request. A failed write releases the
  // connection, which ends this read as every release does (the retry reuses rx_).
  do_read_bridge();
  do_write_bridge(asio::buffer(start.data, start.size), &request::on_start_written);
}

void request::do_write_bridge(asio::const_buffer b, bridge_write_done done) {
  // What fits the socket now is written here, and the step goes on at once (no completion
  // to hand to an io thread): the usual case. The rest goes one async_write_some at a time,
  // each issued from a step, so that the socket is only ever touched from this request's
  // steps (a release closes it from a step, on any thread).
  bridge_pool::connection c = conn_;
  std::error_code ec;
  std::size_t n = c->write_now(b, ec);
  if (ec || n == b.size()) {
    (this->*done)(c, ec);
    return;
  }
  b += n;
  c->async_write_some(
      b, [self = shared_from_this(), c, b, done](std::error_code ec, std::size_t n) {
        run_step(self, [self, c, b, done, ec, n] {
          if (c != self->conn_ || ec || n == b.size())
            ((*self).*done)(c, ec); // released meanwhile (it returns at once), failed, or all out
          else
            self->do_write_bridge(b + n, done);
        });
      });
}

void request::on_start_written(const bridge_pool::connection& c, std::error_code ec) {
  if (c != conn_)
    return; // released meanwhile (abort): the close ended this write
  if (ec) {
    upload_ = upload::stopped;
    if (conn_uses_ > 0 && retries_ == 0 && peer_was_gone(ec)) {
      do_retry("pooled bridge connection was dead before the request went out (" + ec.message() +
               ")");
      return;
    }
    on_bridge_failure("bridge connection lost while sending the request: " + ec.message());
    return;
  }
  bool bodiless = body_length_known_ && body_total_ == 0;
  upload_ = bodiless ? upload::done : upload::idle;
  if (upload_ == upload::idle)
    do_upload_next();
}

// --- Retry and failure ---------------------------------------------------------------------

bool request::may_retry_after_read_failure() const {
  // The bridge may have acted on the request; only a method a second delivery cannot harm
  // goes again, and only if nothing of the answer arrived and no client byte is lost.
  return idempotent(method_) && conn_uses_ > 0 && retries_ == 0 && stdout_bytes_ == 0 &&
         !headers_sent_ && body_received_ == body_preread_ && upload_ == upload::done;
}

void request::do_retry(const std::string& why) {
  rt_.log().info("retrying on a new connection: " + why);
  ++retries_;
  release_connection(false);
  parser_.reset();
  rx_pos_ = rx_end_ = 0;
  preread_sent_ = 0;
  upload_ = upload::not_started;
  download_ = download::not_started;
  do_acquire();
}

void request::on_bridge_failure(const std::string& why) {
  if (lifecycle_ != lifecycle::connected)
    return;
  if (download_ != download::reading_bridge && may_retry_after_read_failure()) {
    do_retry(why);
    return;
  }
  rt_.log().error(why);
  release_connection(false);
  if (!headers_sent_) {
    respond_with_page(make_error_page(502, "The bridge host failed: " + why + "."));
    return;
  }
  // Part of the response is out: cut the client's connection, never end it as complete.
  finish(outcome::cut);
}

} // namespace kallithea_isapi
