// STDOUT -> client: bridge bytes into rx_, through the record parser, the CGI header block
// into plan_, the body into the out_ window, one WriteClient at a time; and the one ISAPI
// I/O slot both directions share. Double buffered: once a window is handed to WriteClient
// (it becomes out_sending_), the bridge is read on into the other, so neither side waits
// for the other's round trip; what a window holds goes out as soon as the client is free.
#include "request/request.hpp"

#include "fastcgi/record.hpp"
#include "runtime/runtime.hpp"

#include <cstring>

namespace kallithea_isapi {

void request::do_read_bridge() {
  rx_pos_ = rx_end_ = 0; // only called once every byte of rx_ went through the parser
  download_ = download::reading_bridge;
  conn_->async_read_some(asio::buffer(rx_),
                         [self = shared_from_this(), c = conn_](std::error_code ec, std::size_t n) {
                           run_step(self, [self, c, ec, n] { self->on_bridge_read(c, ec, n); });
                         });
}

void request::on_bridge_read(const bridge_pool::connection& c, std::error_code ec, std::size_t n) {
  if (c != conn_)
    return; // released meanwhile: the close ended this read, and c goes with this handler
  download_ = download::idle;
  if (lifecycle_ != lifecycle::connected)
    return;
  if (ec) {
    on_bridge_failure(ec == asio::error::eof ? "bridge closed the connection before END_REQUEST"
                                             : "bridge connection failed: " + ec.message());
    return;
  }
  rx_end_ = n;
  process_bridge_bytes();
}

std::size_t request::take_body(const std::uint8_t* data, std::size_t size) {
  if (plan_.framing == fastcgi::body_framing::none)
    return size; // HEAD, 204, 304: nothing goes to the client
  std::size_t room = window - out_len_;
  std::size_t n = size < room ? size : room;
  if (plan_.framing == fastcgi::body_framing::length) {
    std::uint64_t left = plan_.content_length - body_sent_ - out_write_ - out_len_;
    if (n > left) {
      // More than Content-Length: drop the excess rather than corrupt the stream.
      std::memcpy(out_.data() + prefix_room + out_len_, data, static_cast<std::size_t>(left));
      out_len_ += static_cast<std::size_t>(left);
      return size;
    }
  }
  std::memcpy(out_.data() + prefix_room + out_len_, data, n);
  out_len_ += n;
  return n;
}

/// END_REQUEST parsed: decides whether the connection may serve another request. False
/// when the request failed instead.
bool request::on_end_request() {
  bool head_done = response_ != response::awaiting_header;
  std::uint8_t status = piece_.protocol_status;
  piece_ = fastcgi::record_piece{};
  if (!head_done) {
    on_bridge_failure(status != fastcgi::request_complete
                          ? "bridge refused the request (FastCGI protocol status " +
                                std::to_string(status) + ")"
                          : std::string("bridge ended the request without a complete CGI "
                                        "header block"));
    return false;
  }
  response_ = response::end_seen;
  if (upload_ == upload::idle)
    upload_ = upload::stopped; // answered before the whole body: the rest goes nowhere
  if (receiving_ == receiving::wanted || receiving_ == receiving::holding)
    receiving_ = receiving::nothing; // (a ReadClient out ends in on_client_read)
  // Anything after END_REQUEST (beyond its padding) would become the next request's answer:
  // such a connection is never pooled. What is in rx_ is judged here; what is still in the
  // socket, by the pool as it hands the connection out (bridge_stream::readable_now).
  const std::uint8_t* p = rx_.data() + rx_pos_;
  const std::uint8_t* end = rx_.data() + rx_end_;
  fastcgi::record_piece extra;
  fastcgi::parse_result r = parser_.parse(p, end, extra);
  rx_pos_ = rx_end_;
  conn_tail_clean_ = r == fastcgi::parse_result::again && p == end && parser_.at_record_boundary();
  if (!conn_tail_clean_)
    rt_.log().warn("bridge sent bytes after END_REQUEST; the connection is not reused");
  return true;
}

void request::process_bridge_bytes() {
  for (;;) {
    if (piece_used_ < piece_.size) {
      const std::uint8_t* d = piece_.data + piece_used_;
      std::size_t n = piece_.size - piece_used_;
      if (response_ == response::awaiting_header) {
        std::size_t used = 0;
        fastcgi::header_result r = head_parser_.feed(d, n, used);
        piece_used_ += used;
        if (r == fastcgi::header_result::error) {
          on_bridge_failure(head_parser_.error());
          return;
        }
        if (r == fastcgi::header_result::ok) {
          response_ = response::streaming;
          plan_ = fastcgi::plan_response(head_parser_.head(), method_, protocol_);
          status_code_ = head_parser_.head().status;
          download_ = download::awaiting_slot; // headers go out without waiting for the body
        }
      } else {
        std::size_t used = take_body(d, n);
        piece_used_ += used;
        if (used < n) {
          download_ = download::awaiting_slot; // window full
          break;
        }
      }
      if (piece_used_ >= piece_.size)
        piece_ = fastcgi::record_piece{};
      continue;
    }
    piece_used_ = 0;
    if (response_ == response::end_seen)
      break; // END_REQUEST was parsed (and what followed it judged): nothing more is STDOUT
    const std::uint8_t* p = rx_.data() + rx_pos_;
    fastcgi::parse_result r = parser_.parse(p, rx_.data() + rx_end_, piece_);
    rx_pos_ = static_cast<std::size_t>(p - rx_.data());
    if (r == fastcgi::parse_result::again) {
      piece_ = fastcgi::record_piece{};
      break;
    }
    if (r == fastcgi::parse_result::error) {
      piece_ = fastcgi::record_piece{};
      on_bridge_failure(parser_.error());
      return;
    }
    if (piece_.type == fastcgi::end_request) {
      if (!on_end_request())
        return;
      break;
    }
    if (piece_.type == fastcgi::stderr_) {
      log_stderr(piece_.data, piece_.size, piece_.record_end);
      piece_ = fastcgi::record_piece{};
      continue;
    }
    if (piece_.record_end)
      piece_ = fastcgi::record_piece{};
    else
      stdout_bytes_ += piece_.size;
  }
  if (response_ == response::end_seen)
    download_ = download::awaiting_slot;
  if (download_ == download::awaiting_slot || (out_len_ > 0 && sending_ == sending::nothing)) {
    // The window goes to the client now, or as soon as the write out ends.
    download_ = download::awaiting_slot;
    do_schedule_isapi();
    return;
  }
  // rx_ is used up and the window has room: read on, also while a window is being written
  // (what arrives meanwhile makes the next write larger; no available() needed, which is 0
  // for pipes).
  do_read_bridge();
}

void request::do_write_client() {
  bool ending = response_ == response::end_seen && piece_used_ >= piece_.size;
  bool short_end = ending && lifecycle_ == lifecycle::connected &&
                   plan_.framing == fastcgi::body_framing::length &&
                   body_sent_ + out_len_ < plan_.content_length;
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
  // The head goes with the first body bytes in one IIS call (HSE_REQ_VECTOR_SEND), unless
  // there are none yet, or the connection must close after the response and this window
  // is not all of it (the vector's disconnect would come after this window).
  bool head_pending = !headers_sent_;
  bool head_with_body = head_pending && end != begin && !short_end && (plan_.keep_conn || ending);
  headers_sent_ = true; // committed: a page is impossible from here
  if (head_pending && !head_with_body &&
      !ecb_.send_headers(plan_.status, plan_.header_block, plan_.keep_conn, status_code_)) {
    download_ = download::idle;
    fail_client("host refused SEND_RESPONSE_HEADER_EX");
    return;
  }
  if (short_end) {
    download_ = download::idle;
    on_bridge_failure("bridge ended the response before its Content-Length");
    return;
  }
  if (end == begin) {
    if (download_ == download::awaiting_slot)
      download_ = download::idle;
    if (ending) {
      response_ = response::complete;
      finish(outcome::complete);
    } else if (download_ == download::idle) {
      process_bridge_bytes(); // headers only so far: read on
    }
    return;
  }
  sending_ = ending ? sending::last : sending::window;
  out_write_ = out_len_;
  out_len_ = 0;
  const std::uint8_t* data = out_.data() + begin;
  if (!ending) {
    // Double buffering: this window goes out, the other one fills meanwhile.
    if (out_sending_.empty())
      out_sending_ = rt_.windows().get();
    out_.swap(out_sending_);
  }
  if (download_ == download::awaiting_slot)
    download_ = download::idle; // (a bridge read may be out: it goes on)
  isapi_self_ = shared_from_this();
  bool started = head_with_body
                     ? ecb_.async_send_with_head(plan_.status, plan_.header_block, plan_.keep_conn,
                                                 status_code_, data, end - begin, ending)
                     : ecb_.async_write(data, end - begin);
  if (!started) {
    sending_ = sending::nothing;
    isapi_self_.reset();
    fail_client(head_with_body ? "host refused HSE_REQ_VECTOR_SEND" : "host refused WriteClient");
    return;
  }
  if (!ending && download_ == download::idle && lifecycle_ == lifecycle::connected)
    process_bridge_bytes(); // the rest of rx_, then the bridge, into the free window
}

void request::on_client_written(DWORD error) {
  bool was_last = sending_ == sending::last;
  sending_ = sending::nothing;
  if (lifecycle_ == lifecycle::finishing || lifecycle_ == lifecycle::done)
    return;
  if (error != 0) {
    fail_client("client went away during the response (error " + std::to_string(error) + ")");
    return;
  }
  body_sent_ += out_write_;
  out_write_ = 0;
  if (was_last) {
    response_ = response::complete;
    finish(outcome::complete);
    return;
  }
  if (lifecycle_ != lifecycle::connected)
    return;
  if (download_ == download::reading_bridge) {
    // What came while the write was out goes now; the read goes on.
    if (out_len_ > 0)
      do_write_client();
    return;
  }
  process_bridge_bytes(); // a window is free again: move on through STDOUT
}

// --- The one ISAPI I/O slot ---------------------------------------------------------------

bool request::isapi_busy() const {
  return receiving_ == receiving::reading || sending_ != sending::nothing;
}

void request::do_schedule_isapi() {
  if (isapi_busy() || lifecycle_ == lifecycle::done)
    return;
  if (lifecycle_ == lifecycle::finishing) {
    do_done();
    return;
  }
  if (download_ == download::awaiting_slot)
    do_write_client();
  else if (receiving_ == receiving::wanted)
    do_read_client();
}

void request::on_isapi_done(DWORD cb, DWORD error) {
  if (receiving_ == receiving::reading)
    on_client_read(cb, error);
  else if (sending_ != sending::nothing)
    on_client_written(error);
  do_schedule_isapi();
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
