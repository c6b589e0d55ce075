#include "request/request.hpp"

#include "fastcgi/record.hpp"
#include "runtime/runtime.hpp"

#include <cassert>
#include <cstring>

namespace kallithea_isapi {
namespace {

/// STDIN content per record: the window less the record header.
constexpr std::size_t stdin_chunk = request::window - fastcgi::header_size;
constexpr std::size_t prefix_room = request::prefix_room;
constexpr DWORD unknown_length = 0xFFFFFFFF;

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

} // namespace

request::request(runtime& rt, EXTENSION_CONTROL_BLOCK* ecb)
    : rt_(rt), ecb_(ecb), strand_(asio::make_strand(rt.io())) {}

request::~request() {
  assert(done_ && "a request ended without DONE_WITH_SESSION");
  rt_.windows().put(std::move(up_));
  rt_.windows().put(std::move(rx_));
  rt_.windows().put(std::move(out_));
}

std::uint8_t* request::up() {
  if (up_.empty())
    up_ = rt_.windows().get(); // only requests with a body need it
  return up_.data();
}

void WINAPI request::on_isapi_complete(EXTENSION_CONTROL_BLOCK*, LPVOID context, DWORD cb,
                                       DWORD error) {
  // Host thread. isapi_self_ keeps the request alive until the strand runs this.
  auto* self = static_cast<request*>(context);
  asio::post(self->strand_, [self, cb, error] {
    std::shared_ptr<request> keep = std::move(self->isapi_self_);
    self->on_isapi_done(cb, error);
  });
}

void request::start(std::optional<error_page> page) {
  asio::post(strand_, [self = shared_from_this(), page = std::move(page)] {
    if (!self->ecb_.set_completion(&request::on_isapi_complete, self.get())) {
      self->rt_.log().error("host refused HSE_REQ_IO_COMPLETION; ending the request");
      self->close_client_ = true;
      self->finish(false);
      return;
    }
    self->method_ = self->ecb_.raw()->lpszMethod ? self->ecb_.raw()->lpszMethod : "GET";
    if (page) {
      self->ecb_.server_variable("SERVER_PROTOCOL", self->protocol_);
      self->respond_with_page(*page);
      return;
    }
    self->do_collect_variables();
  });
}

void request::abort() {
  asio::post(strand_, [self = shared_from_this()] {
    if (self->done_ || self->finishing_)
      return;
    self->fail_client("extension terminating: request aborted after drain_timeout");
  });
}

// --- Request start -----------------------------------------------------------------------

void request::do_collect_variables() {
  EXTENSION_CONTROL_BLOCK* e = ecb_.raw();
  std::string value;
  for (const char* name : copied_variables) {
    if (ecb_.server_variable(name, value))
      params_.emplace_back(name, value);
  }
  ecb_.server_variable("SERVER_PROTOCOL", protocol_);
  params_.emplace_back("REQUEST_METHOD", method_);
  params_.emplace_back("PATH_INFO", e->lpszPathInfo ? e->lpszPathInfo : "");
  params_.emplace_back("QUERY_STRING", e->lpszQueryString ? e->lpszQueryString : "");
  if (e->lpszContentType && *e->lpszContentType)
    params_.emplace_back("CONTENT_TYPE", e->lpszContentType);
  body_length_known_ = e->cbTotalBytes != unknown_length;
  body_total_ = body_length_known_ ? e->cbTotalBytes : 0;
  if (body_length_known_)
    params_.emplace_back("CONTENT_LENGTH", std::to_string(body_total_));
  params_.emplace_back("GATEWAY_INTERFACE", "CGI/1.1");
  std::uint64_t pre = e->lpbData ? e->cbAvailable : 0;
  if (body_length_known_ && pre > body_total_)
    pre = body_total_;
  body_received_ = pre;
  rx_ = rt_.windows().get();
  out_ = rt_.windows().get();
  do_acquire(false);
}

void request::do_acquire(bool fresh) {
  auto self = shared_from_this();
  rt_.pool().acquire(
      [self](acquire_error e, bridge_pool::connection c) {
        // An idle connection is handed over inside acquire(), on this strand: go on at once
        // instead of queueing a hop.
        if (self->strand_.running_in_this_thread()) {
          self->on_connection(e, std::move(c));
          return;
        }
        asio::post(self->strand_,
                   [self, e, c = std::move(c)]() mutable { self->on_connection(e, std::move(c)); });
      },
      fresh);
}

void request::on_connection(acquire_error e, bridge_pool::connection c) {
  if (done_ || finishing_) {
    if (c)
      rt_.pool().release(std::move(c), true); // never used
    return;
  }
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
  conn_was_reused_ = conn_->uses > 0;
  ++epoch_;
  encode_and_send_start();
}

void request::encode_and_send_start() {
  // The secret is the connection's (it changes when the bridge restarts): added for this
  // encoding only, without copying the other params.
  params_.emplace_back("KALLITHEA_ISAPI_SECRET", conn_->secret());
  bool close_stdin = body_length_known_ && body_total_ == 0;
  fastcgi::encoded_request enc = fastcgi::encode_request_start(params_, close_stdin);
  params_.pop_back();
  if (enc.error != fastcgi::params_error::none) {
    rt_.log().warn(std::string("431: ") + fastcgi::describe(enc.error) + " (" + enc.offending_name +
                   ")");
    release_connection(true);
    respond_with_page(make_error_page(431, std::string(fastcgi::describe(enc.error)) + " (" +
                                               enc.offending_name + ")."));
    return;
  }
  start_bytes_ = std::move(enc.bytes);
  upload_done_ = close_stdin;
  stdin_writing_ = true;
  conn_->async_write(
      asio::buffer(start_bytes_),
      asio::bind_executor(
          strand_, [self = shared_from_this(), epoch = epoch_](std::error_code ec, std::size_t) {
            self->on_stdin_written(epoch, static_cast<std::size_t>(-1), ec); // not an end marker
          }));
  do_read_bridge();
}

// --- Client body -> STDIN ------------------------------------------------------------------

void request::do_upload_next() {
  if (bridge_failed_ || finishing_ || upload_done_ || stdin_writing_ || local_page_)
    return;
  EXTENSION_CONTROL_BLOCK* e = ecb_.raw();
  std::uint64_t pre = body_received_ < e->cbAvailable ? body_received_ : e->cbAvailable;
  if (e->lpbData && preread_sent_ < pre) {
    std::size_t n = static_cast<std::size_t>(pre - preread_sent_);
    if (n > stdin_chunk)
      n = stdin_chunk;
    std::memcpy(up() + fastcgi::header_size, e->lpbData + preread_sent_, n);
    preread_sent_ += n;
    do_write_stdin(n);
    return;
  }
  bool more = body_length_known_ ? body_received_ < body_total_ : !client_body_eof_;
  if (more) {
    want_client_read_ = true;
    do_schedule_isapi();
    return;
  }
  do_write_stdin(0); // the empty STDIN record ends the body
}

void request::do_write_stdin(std::size_t content) {
  fastcgi::write_header(up(), fastcgi::stdin_, fastcgi::request_id, content);
  stdin_writing_ = true;
  conn_->async_write(asio::buffer(up_.data(), fastcgi::header_size + content),
                     asio::bind_executor(strand_, [self = shared_from_this(), epoch = epoch_,
                                                   content](std::error_code ec, std::size_t) {
                       self->on_stdin_written(epoch, content, ec);
                     }));
}

void request::on_stdin_written(std::uint64_t epoch, std::size_t content, std::error_code ec) {
  if (epoch != epoch_)
    return; // a connection given up on (retry)
  stdin_writing_ = false;
  if (release_after_stdin_) {
    release_after_stdin_ = false;
    rt_.pool().release(std::move(conn_), !ec);
    return;
  }
  if (done_ || finishing_ || bridge_failed_)
    return;
  if (ec) {
    on_bridge_failure("bridge connection lost while sending the request: " + ec.message());
    return;
  }
  if (content == 0)
    upload_done_ = true;
  if (!upload_done_)
    do_upload_next();
  else if (end_request_seen_ && isapi_op_ == isapi_op::none && !want_client_write_)
    do_schedule_isapi();
}

void request::do_read_client() {
  want_client_read_ = false;
  std::size_t size = stdin_chunk;
  if (body_length_known_ && body_total_ - body_received_ < size)
    size = static_cast<std::size_t>(body_total_ - body_received_);
  isapi_op_ = isapi_op::read;
  isapi_self_ = shared_from_this();
  if (!ecb_.async_read(up() + fastcgi::header_size, size)) {
    isapi_op_ = isapi_op::none;
    isapi_self_.reset();
    fail_client("host refused HSE_REQ_ASYNC_READ_CLIENT");
  }
}

void request::on_client_read(DWORD cb, DWORD error) {
  if (finishing_ || done_)
    return;
  if (local_page_ || bridge_failed_)
    return; // the body has nowhere to go; the page goes out next
  if (error != 0) {
    fail_client("client went away while sending the body (error " + std::to_string(error) + ")");
    return;
  }
  if (cb == 0) {
    if (body_length_known_) {
      fail_client("client closed the connection after " + std::to_string(body_received_) + " of " +
                  std::to_string(body_total_) + " body bytes");
      return;
    }
    client_body_eof_ = true;
    do_write_stdin(0);
    return;
  }
  client_body_read_ = true;
  body_received_ += cb;
  do_write_stdin(cb);
}

// --- STDOUT -> client ----------------------------------------------------------------------

void request::do_read_bridge() {
  if (bridge_reading_ || !conn_ || bridge_failed_ || end_request_seen_)
    return;
  rx_pos_ = rx_end_ = 0; // only called once every byte of rx_ went through the parser
  bridge_reading_ = true;
  conn_->async_read_some(
      asio::buffer(rx_), asio::bind_executor(strand_, [self = shared_from_this(), epoch = epoch_](
                                                          std::error_code ec, std::size_t n) {
        if (epoch != self->epoch_)
          return;
        self->bridge_reading_ = false;
        if (self->done_ || self->finishing_ || self->bridge_failed_)
          return;
        if (ec) {
          self->on_bridge_failure(ec == asio::error::eof
                                      ? "bridge closed the connection before END_REQUEST"
                                      : "bridge connection failed: " + ec.message());
          return;
        }
        self->rx_end_ = n;
        self->process_bridge_bytes();
      }));
}

std::size_t request::take_body(const std::uint8_t* data, std::size_t size) {
  if (plan_.framing == fastcgi::body_framing::none)
    return size; // HEAD, 204, 304: nothing goes to the client
  std::size_t room = window - out_len_;
  std::size_t n = size < room ? size : room;
  if (plan_.framing == fastcgi::body_framing::length) {
    std::uint64_t left = plan_.content_length - body_sent_ - out_len_;
    if (n > left) {
      // More than Content-Length: drop the excess rather than corrupt the stream.
      std::memcpy(out_.data() + prefix_room + out_len_, data, static_cast<std::size_t>(left));
      out_len_ += static_cast<std::size_t>(left);
      if (n == size || left == 0)
        return size;
      return static_cast<std::size_t>(left);
    }
  }
  std::memcpy(out_.data() + prefix_room + out_len_, data, n);
  out_len_ += n;
  return n;
}

void request::process_bridge_bytes() {
  for (;;) {
    if (have_piece_) {
      const std::uint8_t* d = piece_.data + piece_used_;
      std::size_t n = piece_.size - piece_used_;
      if (piece_.type == fastcgi::stdout_) {
        if (!head_done_) {
          std::size_t used = 0;
          fastcgi::header_result r = head_parser_.feed(d, n, used);
          piece_used_ += used;
          if (r == fastcgi::header_result::error) {
            on_bridge_failure(head_parser_.error());
            return;
          }
          if (r == fastcgi::header_result::ok) {
            head_done_ = true;
            plan_ = fastcgi::plan_response(head_parser_.head(), method_, protocol_);
            status_code_ = head_parser_.head().status;
            want_client_write_ = true; // the headers go out without waiting for body bytes
          }
        } else {
          std::size_t used = take_body(d, n);
          piece_used_ += used;
          if (used < n) {
            want_client_write_ = true; // window full
            break;
          }
        }
      } else {
        log_stderr(d, n, false);
        piece_used_ = piece_.size;
      }
      if (piece_used_ >= piece_.size)
        have_piece_ = false;
      continue;
    }
    if (end_request_seen_)
      break;
    const std::uint8_t* p = rx_.data() + rx_pos_;
    fastcgi::parse_result r = parser_.parse(p, rx_.data() + rx_end_, piece_);
    rx_pos_ = static_cast<std::size_t>(p - rx_.data());
    if (r == fastcgi::parse_result::again)
      break;
    if (r == fastcgi::parse_result::error) {
      on_bridge_failure(parser_.error());
      return;
    }
    if (piece_.type == fastcgi::end_request) {
      end_request_seen_ = true;
      if (piece_.protocol_status != fastcgi::request_complete && !head_done_) {
        on_bridge_failure("bridge refused the request (FastCGI protocol status " +
                          std::to_string(piece_.protocol_status) + ")");
        return;
      }
      break;
    }
    if (piece_.record_end) {
      if (piece_.type == fastcgi::stderr_)
        log_stderr(nullptr, 0, true);
      continue;
    }
    if (piece_.type == fastcgi::stdout_)
      got_stdout_ = true;
    have_piece_ = true;
    piece_used_ = 0;
  }
  if (end_request_seen_) {
    if (!head_done_) {
      on_bridge_failure("bridge ended the request without a complete CGI header block");
      return;
    }
    want_client_write_ = true;
  }
  if (!end_request_seen_ && !have_piece_ && headers_sent_ && out_len_ < window / 2 &&
      conn_->available() > 0) {
    // More STDOUT is already here and the window has room: fill it before writing, so the
    // client gets fewer, larger writes. Nothing is in flight to the client yet.
    want_client_write_ = false;
    do_read_bridge();
    return;
  }
  if (want_client_write_ || out_len_ > 0) {
    want_client_write_ = true;
    do_schedule_isapi();
    return;
  }
  do_read_bridge();
}

void request::do_write_client() {
  want_client_write_ = false;
  if (!headers_sent_) {
    headers_sent_ = true;
    if (!ecb_.send_headers(plan_.status, plan_.header_block, plan_.keep_conn, status_code_)) {
      fail_client("host refused SEND_RESPONSE_HEADER_EX");
      return;
    }
  }
  bool ending = end_request_seen_ && !have_piece_;
  if (ending && !local_page_ && plan_.framing == fastcgi::body_framing::length &&
      body_sent_ + out_len_ < plan_.content_length) {
    on_bridge_failure("bridge ended the response before its Content-Length");
    return;
  }
  std::size_t begin = prefix_room;
  std::size_t end = prefix_room + out_len_;
  if (plan_.framing == fastcgi::body_framing::chunked) {
    if (out_len_ > 0) {
      char line[18];
      std::size_t n = fastcgi::write_chunk_prefix(line, out_len_);
      begin -= n;
      std::memcpy(out_.data() + begin, line, n);
      std::memcpy(out_.data() + end, "\r\n", 2);
      end += 2;
    }
    if (ending && !last_chunk_sent_) {
      std::memcpy(out_.data() + end, "0\r\n\r\n", 5);
      end += 5;
      last_chunk_sent_ = true;
    }
  }
  if (end == begin) {
    if (ending)
      finish(true);
    else
      process_bridge_bytes(); // headers only so far: read on
    return;
  }
  out_ends_response_ = ending;
  isapi_op_ = isapi_op::write;
  isapi_self_ = shared_from_this();
  if (!ecb_.async_write(out_.data() + begin, end - begin)) {
    isapi_op_ = isapi_op::none;
    isapi_self_.reset();
    fail_client("host refused WriteClient");
  }
}

void request::on_client_written(DWORD error) {
  if (finishing_ || done_)
    return;
  if (error != 0) {
    fail_client("client went away during the response (error " + std::to_string(error) + ")");
    return;
  }
  body_sent_ += out_len_;
  out_len_ = 0;
  if (out_ends_response_) {
    finish(true);
    return;
  }
  process_bridge_bytes(); // the window is free again: move on through STDOUT
  do_schedule_isapi();
}

// --- The one ISAPI I/O slot ---------------------------------------------------------------

void request::do_schedule_isapi() {
  if (done_ || isapi_op_ != isapi_op::none)
    return;
  if (finishing_) {
    do_done();
    return;
  }
  if (want_client_write_) {
    do_write_client();
    return;
  }
  if (want_client_read_)
    do_read_client();
}

void request::on_isapi_done(DWORD cb, DWORD error) {
  isapi_op op = isapi_op_;
  isapi_op_ = isapi_op::none;
  if (op == isapi_op::read)
    on_client_read(cb, error);
  else
    on_client_written(error);
  do_schedule_isapi();
}

// --- Endings -------------------------------------------------------------------------------

void request::on_bridge_failure(const std::string& why) {
  if (bridge_failed_ || done_ || finishing_)
    return;
  bool retry = conn_was_reused_ && retries_ == 0 && !got_stdout_ && !client_body_read_ &&
               !headers_sent_ && !local_page_;
  release_connection(false);
  if (retry) {
    // A pooled connection the bridge had closed (e.g. it restarted): once, on a new one.
    ++retries_;
    ++epoch_;
    parser_.reset();
    rx_pos_ = rx_end_ = 0;
    preread_sent_ = 0;
    upload_done_ = false;
    stdin_writing_ = false;
    bridge_reading_ = false;
    have_piece_ = false;
    do_acquire(true);
    return;
  }
  bridge_failed_ = true;
  rt_.log().error(why);
  if (!headers_sent_) {
    respond_with_page(make_error_page(502, "The bridge host failed: " + why + "."));
    return;
  }
  // Part of the response is out: cut the client's connection, never end it as complete.
  close_client_ = true;
  finish(false);
}

void request::respond_with_page(const error_page& page) {
  release_connection(false);
  local_page_ = true;
  have_piece_ = false;
  head_done_ = true;
  end_request_seen_ = true;
  status_code_ = page.status;
  plan_ = fastcgi::response_plan{};
  plan_.status = page.status_text;
  plan_.header_block = page.header_block;
  plan_.framing = method_ == "HEAD" ? fastcgi::body_framing::none : fastcgi::body_framing::length;
  plan_.content_length = page.body.size();
  bool body_all_read = body_length_known_ && body_received_ >= body_total_;
  plan_.keep_conn = body_all_read;
  if (out_.size() < prefix_room + page.body.size() + suffix_room)
    out_.resize(prefix_room + page.body.size() + suffix_room);
  out_len_ = 0;
  if (plan_.framing != fastcgi::body_framing::none) {
    std::memcpy(out_.data() + prefix_room, page.body.data(), page.body.size());
    out_len_ = page.body.size();
  }
  want_client_read_ = false;
  want_client_write_ = true;
  if (isapi_op_ == isapi_op::read)
    ecb_.close_connection(); // a body read may never complete; the page then goes nowhere
  do_schedule_isapi();
}

void request::fail_client(const std::string& why) {
  if (done_ || finishing_)
    return;
  rt_.log().info("request aborted: " + why);
  close_client_ = true;
  finish(false);
}

void request::finish(bool complete) {
  if (finishing_)
    return;
  finishing_ = true;
  bool body_all_read = body_length_known_ ? body_received_ >= body_total_ : client_body_eof_;
  if (body_length_known_ && body_total_ == 0)
    body_all_read = true;
  finish_keep_conn_ = complete && plan_.keep_conn && body_all_read && !close_client_;
  if (conn_) {
    bool reusable =
        complete && !local_page_ && end_request_seen_ && upload_done_ && !bridge_reading_;
    if (reusable && stdin_writing_)
      release_after_stdin_ = true; // its completion is already on the way
    else
      release_connection(reusable);
  }
  if (isapi_op_ == isapi_op::read || (close_client_ && isapi_op_ != isapi_op::none)) {
    // A pending read may wait forever for a client that waits for us, and a pending write
    // for a client that stopped reading: closing completes them, then DONE follows.
    ecb_.close_connection();
    close_client_ = false; // already closed
    finish_keep_conn_ = false;
  }
  do_schedule_isapi();
}

void request::do_done() {
  assert(!done_ && "DONE_WITH_SESSION twice");
  if (done_)
    return;
  done_ = true;
  if (close_client_)
    ecb_.close_connection();
  ecb_.done(finish_keep_conn_);
  rt_.untrack(this);
}

void request::release_connection(bool reusable) {
  if (!conn_)
    return;
  if (!reusable && !stdin_writing_ && !bridge_failed_ && !end_request_seen_) {
    // Tell the bridge to stop work on this request; the connection is dropped anyway.
    static const std::uint8_t abort_record[8] = {
        fastcgi::version_1, fastcgi::abort_request, 0, fastcgi::request_id, 0, 0, 0, 0};
    auto shared = std::make_shared<bridge_pool::connection>(std::move(conn_));
    (*shared)->async_write(asio::buffer(abort_record),
                           [shared](std::error_code, std::size_t) { shared->reset(); });
    rt_.pool().release(nullptr, false);
    return;
  }
  rt_.pool().release(std::move(conn_), reusable);
}

void request::log_stderr(const std::uint8_t* data, std::size_t size, bool record_end) {
  for (std::size_t i = 0; i < size; ++i) {
    char c = static_cast<char>(data[i]);
    if (c == '\n' || stderr_line_.size() >= 4096) {
      rt_.log().warn("bridge stderr: " + stderr_line_);
      stderr_line_.clear();
      if (c == '\n')
        continue;
    }
    stderr_line_ += c;
  }
  if (record_end && !stderr_line_.empty()) {
    rt_.log().warn("bridge stderr: " + stderr_line_);
    stderr_line_.clear();
  }
}

} // namespace kallithea_isapi
