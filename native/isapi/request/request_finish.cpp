// How a request ends, whatever the path: a page the DLL makes, a cut client connection,
// or the complete answer; then DONE_WITH_SESSION exactly once, and the connection given
// back (clean END_REQUEST, whole body sent) or closed.
#include "request/request.hpp"

#include "fastcgi/record.hpp"
#include "runtime/runtime.hpp"

#include <cassert>
#include <cstring>

namespace kallithea_isapi {

void request::respond_with_page(const error_page& given) {
  // Whoever reads an error page learns that the DLL's own log is not being written.
  std::string log_failure = rt_.log().write_failure();
  const error_page page =
      with_id(log_failure.empty() ? given : add_note(given, log_failure), new_error_id());
  // The line that carries the page's id. The path only: a query may hold an API key.
  const char* path = ecb_.raw()->lpszPathInfo ? ecb_.raw()->lpszPathInfo : "";
  rt_.log().write(page.status >= 500 && page.status != 503 ? log_level::error : log_level::warn,
                  "error page " + page.id + ": " + page.status_text + " for " + method_ + " " +
                      path + ": " + page.detail);
  release_connection(false);
  lifecycle_ = lifecycle::answering_page;
  piece_ = fastcgi::record_piece{};
  response_ = response::end_seen;
  status_code_ = page.status;
  plan_ = fastcgi::response_plan{};
  plan_.status = page.status_text;
  plan_.header_block = page.header_block;
  plan_.framing = method_ == "HEAD" ? fastcgi::body_framing::none : fastcgi::body_framing::length;
  plan_.content_length = page.body.size();
  plan_.keep_conn = true; // finish() turns it off when body bytes are left unread
  if (out_.size() < prefix_room + page.body.size() + suffix_room)
    out_.resize(prefix_room + page.body.size() + suffix_room);
  out_len_ = 0;
  if (plan_.framing != fastcgi::body_framing::none) {
    std::memcpy(out_.data() + prefix_room, page.body.data(), page.body.size());
    out_len_ = page.body.size();
  }
  // An outstanding ReadClient is waited for (its completion stops the upload); the page
  // then goes out with keep-alive off, since the rest of the body is never read.
  upload_ = upload::stopped;
  if (receiving_ != receiving::reading)
    receiving_ = receiving::nothing;
  download_ = download::awaiting_slot;
  do_schedule_isapi();
}

void request::fail_client(const std::string& why) {
  if (lifecycle_ == lifecycle::finishing || lifecycle_ == lifecycle::done)
    return;
  rt_.log().info("request aborted: " + why);
  finish(outcome::cut);
}

void request::finish(outcome o) {
  if (lifecycle_ == lifecycle::finishing || lifecycle_ == lifecycle::done)
    return;
  bool reusable = o == outcome::complete && lifecycle_ == lifecycle::connected && conn_tail_clean_;
  if (lifecycle_ == lifecycle::queued)
    rt_.pool().cancel_wait(ticket_); // if it is served anyway, on_connection gives it back
  lifecycle_ = lifecycle::finishing;
  queue_timer_.cancel();
  keep_conn_ = o == outcome::complete && plan_.keep_conn && body_all_read();
  if (conn_ && reusable && upload_ == upload::writing_last) {
    // The bridge answered as the last STDIN record went out: its completion is on the way
    // and releases the connection (on_stdin_written).
  } else {
    release_connection(reusable && upload_ == upload::done);
    upload_ = upload::stopped;
  }
  if (receiving_ != receiving::reading)
    receiving_ = receiving::nothing;
  if (download_ == download::awaiting_slot)
    download_ = download::idle;
  if (o == outcome::cut || receiving_ == receiving::reading) {
    // A pending read may wait forever for a client that waits for us, and a pending write
    // for a client that stopped reading: closing completes them, then DONE follows.
    ecb_.close_connection();
    keep_conn_ = false;
  }
  do_schedule_isapi();
}

void request::do_done() {
  assert(lifecycle_ == lifecycle::finishing && "DONE_WITH_SESSION twice");
  if (lifecycle_ != lifecycle::finishing)
    return;
  lifecycle_ = lifecycle::done;
  // Everything shared goes back before DONE_WITH_SESSION: the host may start the next
  // request on the woken thread at once, and it would wait for the locks held here.
  // (runtime::stop still waits for this step: it is counted.)
  if (!conn_)
    give_back_windows(); // with a connection held, a STDIN write may still use up_
  rt_.untrack(this);
  ecb_.done(keep_conn_);
}

void request::give_back_windows() {
  rt_.windows().put(std::move(up_));
  rt_.windows().put(std::move(up_next_));
  rt_.windows().put(std::move(rx_));
  rt_.windows().put(std::move(out_));
  rt_.windows().put(std::move(out_sending_));
}

void request::release_connection(bool reusable) {
  if (!conn_)
    return;
  bool writing = upload_ == upload::sending_start || upload_ == upload::writing_stdin ||
                 upload_ == upload::writing_last;
  if (!reusable && !writing && response_ != response::end_seen && response_ != response::complete) {
    // Tell the bridge to stop work on this request, if that costs no wait; closing the
    // connection (next) tells it anyway.
    static const std::uint8_t abort_record[8] = {
        fastcgi::version_1, fastcgi::abort_request, 0, fastcgi::request_id, 0, 0, 0, 0};
    conn_->try_send_now(asio::buffer(abort_record));
  }
  // Operations still in flight on it hold their own reference and end with
  // operation_aborted once the pool closes it.
  rt_.pool().release(std::move(conn_), reusable);
  conn_.reset();
  if (download_ == download::reading_bridge)
    download_ = download::idle;
}

void request::on_internal_error(const char* what) noexcept {
  try {
    rt_.log().error(std::string("internal error, request failed: ") + what);
  } catch (...) {
  }
  if (lifecycle_ == lifecycle::done)
    return;
  try {
    if (lifecycle_ != lifecycle::finishing && lifecycle_ != lifecycle::answering_page &&
        !headers_sent_) {
      respond_with_page(make_error_page(500, "kallithea-isapi failed on this request; see "
                                             "kallithea_isapi.log."));
      return;
    }
    if (lifecycle_ != lifecycle::finishing) {
      finish(outcome::cut);
      return;
    }
    do_schedule_isapi();
    return;
  } catch (...) {
  }
  // Nothing above could run: end it with as little as possible.
  try {
    if (conn_)
      rt_.pool().release(std::move(conn_), false);
  } catch (...) {
  }
  conn_.reset();
  if (lifecycle_ != lifecycle::finishing)
    ecb_.close_connection();
  lifecycle_ = lifecycle::finishing;
  keep_conn_ = false;
  if (!isapi_busy())
    do_done();
}

} // namespace kallithea_isapi
