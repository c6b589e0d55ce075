// Client body -> STDIN: lpbData first, then ReadClient into up_next_, each chunk written as
// one STDIN record from up_ (the two swap), and the empty STDIN record at the end. Double
// buffered: while one record goes to the bridge, the next chunk is read from the client;
// a chunk read before the bridge took the previous one waits (holding), so the two windows
// are the flow control.
#include "request/request.hpp"

#include "fastcgi/record.hpp"
#include "runtime/runtime.hpp"

#include <cstring>

namespace kallithea_isapi {
namespace {

/// STDIN content per record: the window less the record header.
constexpr std::size_t stdin_chunk = request::window - fastcgi::header_size;

} // namespace

std::uint8_t* request::up() {
  if (up_.empty())
    up_ = rt_.windows().get(); // only requests with a body need it
  return up_.data();
}

std::uint8_t* request::up_next() {
  if (up_next_.empty())
    up_next_ = rt_.windows().get();
  return up_next_.data();
}

bool request::body_all_read() const {
  if (body_length_known_)
    return body_received_ >= body_total_;
  return client_body_eof_;
}

void request::do_upload_next() {
  EXTENSION_CONTROL_BLOCK* e = ecb_.raw();
  if (preread_sent_ < body_preread_) {
    std::size_t n = static_cast<std::size_t>(body_preread_ - preread_sent_);
    if (n > stdin_chunk)
      n = stdin_chunk;
    std::memcpy(up() + fastcgi::header_size, e->lpbData + preread_sent_, n);
    preread_sent_ += n;
    do_write_stdin(n);
    return;
  }
  if (receiving_ == receiving::holding) {
    // Read while the previous record was being written: it goes now.
    up_.swap(up_next_);
    receiving_ = receiving::nothing;
    do_write_stdin(next_len_); // 0: the end of a body of unknown length
    return;
  }
  if (receiving_ == receiving::nothing && !body_all_read())
    receiving_ = receiving::wanted;
  if (receiving_ != receiving::nothing) {
    upload_ = upload::idle; // on_client_read writes what comes
    do_schedule_isapi();
    return;
  }
  do_write_stdin(0); // the empty STDIN record ends the body
}

void request::do_write_stdin(std::size_t content) {
  fastcgi::write_header(up(), fastcgi::stdin_, fastcgi::request_id, content);
  upload_ = content > 0 ? upload::writing_stdin : upload::writing_last;
  if (content > 0 && receiving_ == receiving::nothing && !body_all_read())
    receiving_ = receiving::wanted; // read ahead while this record goes out
  do_write_bridge(asio::buffer(up_.data(), fastcgi::header_size + content),
                  &request::on_stdin_written);
  do_schedule_isapi(); // the read-ahead, if the slot is free (the write may still be out)
}

void request::on_stdin_written(const bridge_pool::connection& c, std::error_code ec) {
  if (c != conn_)
    return; // released meanwhile: the close ended this write, and c goes with this handler
  bool was_last = upload_ == upload::writing_last;
  upload_ = was_last && !ec ? upload::done : upload::idle;
  if (lifecycle_ == lifecycle::finishing || lifecycle_ == lifecycle::done) {
    // finish() kept the connection for this completion (the answer was complete).
    release_connection(upload_ == upload::done);
    upload_ = upload::stopped;
    return;
  }
  if (ec) {
    upload_ = upload::stopped;
    on_bridge_failure("bridge connection lost while sending the request body: " + ec.message());
    return;
  }
  if (upload_ == upload::idle && response_ != response::end_seen) {
    do_upload_next();
  } else if (upload_ == upload::idle) {
    upload_ = upload::stopped; // answered already: the rest of the body goes nowhere
    if (receiving_ != receiving::reading)
      receiving_ = receiving::nothing;
  }
  do_schedule_isapi();
}

void request::do_read_client() {
  std::size_t size = stdin_chunk;
  if (body_length_known_ && body_total_ - body_received_ < size)
    size = static_cast<std::size_t>(body_total_ - body_received_);
  receiving_ = receiving::reading;
  isapi_self_ = shared_from_this();
  if (!ecb_.async_read(up_next() + fastcgi::header_size, size)) {
    receiving_ = receiving::nothing;
    if (upload_ == upload::idle)
      upload_ = upload::stopped;
    isapi_self_.reset();
    fail_client("host refused HSE_REQ_ASYNC_READ_CLIENT");
  }
}

void request::on_client_read(DWORD cb, DWORD error) {
  receiving_ = receiving::nothing;
  // A STDIN write may still be out (read-ahead): its completion owns upload_ then.
  bool bridge_free = upload_ == upload::idle;
  if (lifecycle_ != lifecycle::connected || response_ == response::end_seen) {
    // Finishing, answering a page, or answered already: the body has nowhere to go.
    if (bridge_free)
      upload_ = upload::stopped;
    if (error == 0)
      body_received_ += cb;
    return;
  }
  if (error != 0) {
    if (bridge_free)
      upload_ = upload::stopped;
    fail_client("client went away while sending the body (error " + std::to_string(error) + ")");
    return;
  }
  if (cb == 0) {
    if (body_length_known_) {
      if (bridge_free)
        upload_ = upload::stopped;
      fail_client("client closed the connection after " + std::to_string(body_received_) + " of " +
                  std::to_string(body_total_) + " body bytes");
      return;
    }
    client_body_eof_ = true;
  }
  body_received_ += cb;
  receiving_ = receiving::holding;
  next_len_ = cb;
  if (bridge_free)
    do_upload_next(); // else the write out ends first, and on_stdin_written takes it
}

} // namespace kallithea_isapi
