#include "request.h"

#include "connections.h"
#include "host.h"
#include "response_head.h"
#include "response_vector.h"
#include "text_encoding.h"
#include "verifier_policy.h"

#include <algorithm>
#include <cstring>

namespace isapi_host {

namespace {

constexpr DWORD unknown_length = 0xFFFFFFFF;

DWORD total_bytes(const RequestInfo& info) {
  if (!info.length_known || info.content_length >= unknown_length)
    return unknown_length;
  return static_cast<DWORD>(info.content_length);
}

BOOL fail(DWORD error) {
  isapi_set_last_error(error);
  return FALSE;
}

std::string text_of(const char* text, DWORD count) {
  if (text == nullptr)
    return {};
  if (count == 0)
    return text;
  return std::string(text, strnlen(text, count));
}

} // namespace

Request::Request(std::shared_ptr<Host> host, std::uint64_t id, RequestInfo&& moved)
    : host_(std::move(host)), id_(id), variables_(host_->config(), std::move(moved)),
      client_keep_alive_(variables_.info().client_keep_alive),
      request_line_(variables_.info().method + " " + variables_.info().raw_target),
      method_(variables_.method()), query_(variables_.query_string()),
      path_info_(variables_.path_info_ansi()), path_translated_(variables_.path_translated_ansi()),
      content_type_(variables_.content_type()), ecb_owner_(new EXTENSION_CONTROL_BLOCK{}),
      ecb_(ecb_owner_.get()), writes_(host_->config().write_buffer),
      head_request_(variables_.info().method == "HEAD") {
  const RequestInfo& info = variables_.info();
  ecb_->cbSize = sizeof(*ecb_);
  ecb_->dwVersion = HSE_VERSION;
  ecb_->ConnID = to_hconn(id_);
  ecb_->dwHttpStatusCode = 200;
  ecb_->lpszMethod = method_.data();
  ecb_->lpszQueryString = query_.data();
  ecb_->lpszPathInfo = path_info_.data();
  ecb_->lpszPathTranslated = path_translated_.data();
  ecb_->lpszContentType = content_type_.data();
  ecb_->cbTotalBytes = total_bytes(info);
  ecb_->GetServerVariable = ecb_get_server_variable;
  ecb_->WriteClient = ecb_write_client;
  ecb_->ReadClient = ecb_read_client;
  ecb_->ServerSupportFunction = ecb_server_support_function;
  const std::uint64_t declared = info.length_known ? info.content_length : UINT64_MAX;
  read_ahead_target_ = std::min<std::uint64_t>(host_->config().read_ahead, declared);
  if (info.length_known && info.content_length == 0)
    body_ended_ = true;
}

// JS thread.
void Request::start() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (read_ahead_ready_locked())
    dispatch_locked();
}

// JS thread.
bool Request::push_body(const std::uint8_t* data, std::size_t size) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (body_ended_ || disconnected_)
    return true; // nobody will read it: let it drain
  body_.append(data, size);
  if (async_op_ == AsyncOp::read && body_.size() > 0) {
    const std::size_t n = body_.take(async_read_buffer_, async_read_size_);
    post_completion_locked(static_cast<DWORD>(n), ERROR_SUCCESS);
  }
  if (!dispatched_ && read_ahead_ready_locked())
    dispatch_locked();
  changed_.notify_all();
  if (body_.size() >= host_->config().body_buffer) {
    paused_ = true;
    return false;
  }
  return true;
}

// JS thread.
void Request::end_body() {
  std::lock_guard<std::mutex> lock(mutex_);
  body_ended_ = true;
  if (async_op_ == AsyncOp::read && body_.size() == 0)
    post_completion_locked(0, ERROR_SUCCESS);
  if (!dispatched_)
    dispatch_locked();
  changed_.notify_all();
}

// JS thread.
void Request::write_done(std::uint32_t seq, bool ok) {
  std::lock_guard<std::mutex> lock(mutex_);
  last_activity_ = clock::now();
  writes_.taken(seq);
  if (!ok)
    writes_failed_ = true;
  if (async_op_ == AsyncOp::write && writes_.taken_through(async_write_seq_)) {
    async_op_ = AsyncOp::none; // its completion is posted below, not by a failure on the way
    // Just before the completion, the extension's buffer must still hold what it held at
    // submit: IIS would only now be done reading it.
    if (async_write_buffer_ != nullptr) {
      const auto now = VerifierPolicy::checksum(async_write_buffer_, async_write_bytes_);
      if (report_locked(policy().on_write_completion(async_write_checksum_, now)))
        ok = false;
      async_write_buffer_ = nullptr;
    }
    post_completion_locked(ok ? async_write_bytes_ : 0, ok ? ERROR_SUCCESS : ERROR_NETNAME_DELETED);
  }
  changed_.notify_all();
}

// JS thread (socket closed), or a host thread (abandon).
void Request::client_gone() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (disconnected_)
    return;
  disconnected_ = true;
  disconnect_error_ = ERROR_OPERATION_ABORTED;
  fail_pending_io_locked(ERROR_OPERATION_ABORTED);
  // A client that left before the extension ran never reaches it (IIS drops it too).
  if (!dispatched_) {
    dispatched_ = true;
    proc_returned_ = true;
    done_ = true;
    maybe_retire_locked();
  }
  changed_.notify_all();
}

void Request::abandon() {
  client_gone();
}

// Called with mutex_ held: every wait and pending operation ends as a failed I/O.
void Request::fail_pending_io_locked(DWORD error) {
  // Sync writers wake on changed_ and see disconnected_.
  if (async_op_ != AsyncOp::none)
    post_completion_locked(0, error);
}

bool Request::read_ahead_ready_locked() const {
  return body_ended_ || body_.size() >= read_ahead_target_;
}

void Request::dispatch_locked() {
  dispatched_ = true;
  const std::size_t n = std::min<std::uint64_t>(body_.size(), read_ahead_target_);
  read_ahead_.resize(n + 1); // one spare byte: lpbData is never a null pointer
  body_.take(read_ahead_.data(), n);
  read_ahead_[n] = 0;
  ecb_->cbAvailable = static_cast<DWORD>(n);
  ecb_->lpbData = read_ahead_.data();
  maybe_resume_locked();
  auto self = shared_from_this();
  if (!host_->run_extension_proc([self] { self->do_extension_proc(); },
                                 "HttpExtensionProc of " + request_line_)) {
    proc_returned_ = true;
    done_ = true;
    maybe_retire_locked();
  }
}

// Pool thread.
void Request::do_extension_proc() {
  const DWORD status = host_->call_extension(ecb_);
  std::lock_guard<std::mutex> lock(mutex_);
  proc_returned_ = true;
  last_activity_ = clock::now();
  report_locked(policy().on_proc_return(status, done_ && !given_up_));
  if (status != HSE_STATUS_PENDING && !done_)
    finish_session_locked(status);
  maybe_retire_locked();
}

// Pool thread. The routine and context were captured when the I/O finished.
void Request::do_completion(PFN_HSE_IO_COMPLETION routine, void* context, DWORD bytes,
                            DWORD error) {
  completion_queued_.store(false);
  routine(ecb_, context, bytes, error);
}

void Request::post_completion_locked(DWORD bytes, DWORD error) {
  async_op_ = AsyncOp::none;
  async_read_buffer_ = nullptr;
  PFN_HSE_IO_COMPLETION routine = completion_;
  void* context = completion_context_;
  if (routine == nullptr)
    return;
  auto self = shared_from_this();
  // Set before the post: the routine may start on a pool thread before run_completion
  // returns, and clears it then.
  completion_queued_.store(true);
  if (!host_->run_completion([self, routine, context, bytes,
                              error] { self->do_completion(routine, context, bytes, error); },
                             "the I/O completion routine of " + request_line_))
    completion_queued_.store(false);
}

void Request::maybe_resume_locked() {
  if (paused_ && !disconnected_ && body_.size() <= host_->config().body_buffer / 2) {
    paused_ = false;
    post_locked(HostEvent{HostEvent::Kind::resume, id_});
  }
}

bool Request::frame_body_locked(const std::uint8_t* data, std::size_t size,
                                std::vector<std::uint8_t>& out) {
  if (chunks_) {
    if (chunks_->feed(data, size, out) != ChunkParser::Result::error)
      return true;
    if (!report_locked(policy().on_broken_chunking(chunks_->error()))) {
      // What follows cannot be framed for the client: end the connection, as a client
      // of IIS would find it broken.
      close_connection_locked();
    }
    return false;
  }
  body_written_ += size;
  if (length_declared_ && body_written_ > declared_length_) {
    // Bytes past the declared Content-Length: passed on, a kept-alive client would read
    // them as the start of its next response. http.sys refuses such a send; so does the
    // host, with the connection ended, whether or not the verifier reports it.
    if (!report_locked(policy().on_body(body_written_, declared_length_, false)))
      close_connection_locked();
    return false;
  }
  out.insert(out.end(), data, data + size);
  return true;
}

// HSE_REQ_CLOSE_CONNECTION, or framing the host cannot pass on: the socket goes, and I/O
// still pending fails with ERROR_NETNAME_DELETED.
void Request::close_connection_locked() {
  if (disconnected_)
    return;
  post_locked(HostEvent{HostEvent::Kind::close_connection, id_});
  disconnected_ = true;
  disconnect_error_ = ERROR_NETNAME_DELETED;
  fail_pending_io_locked(ERROR_NETNAME_DELETED);
  changed_.notify_all();
}

void Request::check_body_end_locked(DWORD status) {
  if (disconnected_ || status == HSE_STATUS_ERROR)
    return; // ended early on purpose, or the client is gone
  if (chunks_ && !chunks_->done()) {
    if (!report_locked(policy().on_broken_chunking("it ended without its last chunk")))
      close_connection_locked();
  } else if (length_declared_) {
    report_locked(policy().on_body(body_written_, declared_length_, true));
  }
}

void Request::finish_session_locked(DWORD status) {
  check_body_end_locked(status);
  done_ = true;
  HostEvent event{HostEvent::Kind::done, id_};
  event.number = status;
  event.flag = status != HSE_STATUS_ERROR;
  event.text = log_parameter_;
  event.text2 = std::to_string(ecb_->dwHttpStatusCode);
  post_locked(std::move(event));
  changed_.notify_all();
}

void Request::maybe_retire_locked() {
  if (retired_ || !done_ || !proc_returned_)
    return;
  retired_ = true;
  if (policy().verify()) {
    // A late call is reported, not a read of freed memory; only the ECB is kept.
    std::function<void(const char*, bool)> report;
    if (!given_up_) {
      report = [host = std::weak_ptr<Host>(host_), id = id_, line = request_line_,
                verify = policy().verify()](const char* call, bool done) {
        RequestFacts facts;
        facts.done = true;
        const VerifierPolicy policy(verify);
        const auto breach = done ? policy.on_done(facts) : policy.on_call(facts, call);
        auto alive = host.lock();
        if (!breach || !alive)
          return;
        HostEvent event{HostEvent::Kind::violation, id};
        event.text = rule_name(breach->rule);
        event.text2 = breach->message;
        event.flag = true;
        event.data.assign(line.begin(), line.end());
        alive->post(std::move(event));
      };
    }
    bury_connection(id_, std::move(ecb_owner_), std::move(report));
  }
  host_->retire(id_);
}

bool Request::post_locked(HostEvent&& event) {
  if (host_->post(std::move(event)))
    return true;
  // JS is gone: from the extension's side that is a client that went away.
  if (!disconnected_) {
    disconnected_ = true;
    fail_pending_io_locked(ERROR_OPERATION_ABORTED);
    changed_.notify_all();
  }
  return false;
}

const VerifierPolicy& Request::policy() const {
  return host_->policy();
}

bool Request::report_locked(const std::optional<Breach>& breach) {
  if (!breach)
    return false;
  violation_locked(*breach);
  return true;
}

void Request::violation_locked(const Breach& breach) {
  HostEvent event{HostEvent::Kind::violation, id_};
  event.text = rule_name(breach.rule);
  event.text2 = breach.message;
  event.flag = headers_sent_;
  event.data.assign(request_line_.begin(), request_line_.end());
  host_->post(std::move(event));
  // The host answered (500) or aborted the connection: the rest of this request's I/O
  // fails as if the client had gone.
  if (!disconnected_) {
    disconnected_ = true;
    disconnect_error_ = ERROR_OPERATION_ABORTED;
    fail_pending_io_locked(ERROR_OPERATION_ABORTED);
    changed_.notify_all();
  }
}

// Any ECB call: after the session is done the ECB is dead.
bool Request::usable_locked(const char* call) {
  last_activity_ = clock::now();
  if (!done_)
    return true;
  report_locked(policy().on_call(facts_locked(), call));
  isapi_set_last_error(ERROR_INVALID_PARAMETER);
  return false;
}

bool Request::async_in_flight_locked() const {
  return async_op_ != AsyncOp::none || completion_queued_.load();
}

RequestFacts Request::facts_locked() const {
  RequestFacts facts;
  facts.done = done_;
  facts.given_up = given_up_;
  facts.in_extension_proc = !proc_returned_;
  facts.has_completion = completion_ != nullptr;
  facts.async_in_flight = async_in_flight_locked();
  facts.sync_waiters = sync_waiters_;
  return facts;
}

// Watchdog thread.
void Request::check_deadline(clock::time_point now) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (done_ || !proc_returned_)
    return;
  // Inactivity, not age: a long transfer that keeps calling the ECB is not stuck.
  const auto idle = std::chrono::duration_cast<std::chrono::milliseconds>(now - last_activity_);
  if (!report_locked(
          policy().on_idle(idle, std::chrono::milliseconds(host_->config().done_timeout_ms))))
    return;
  given_up_ = true;
  done_ = true;
  maybe_retire_locked();
}

// Extension thread.
BOOL Request::get_server_variable(const char* name, void* buffer, DWORD* size) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!usable_locked("GetServerVariable"))
      return FALSE;
  }
  std::string value;
  switch (variables_.lookup(name, value)) {
  case ServerVariables::Lookup::unknown:
    return fail(ERROR_INVALID_INDEX);
  case ServerVariables::Lookup::no_data:
    return fail(ERROR_NO_DATA);
  case ServerVariables::Lookup::found:
    break;
  }
  const std::size_t nul = ServerVariables::unicode_name(name) ? 2 : 1;
  const std::size_t needed = value.size() + nul;
  if (buffer == nullptr || *size < needed) {
    *size = static_cast<DWORD>(needed);
    return fail(ERROR_INSUFFICIENT_BUFFER);
  }
  std::memcpy(buffer, value.data(), value.size());
  std::memset(static_cast<char*>(buffer) + value.size(), 0, nul);
  *size = static_cast<DWORD>(needed);
  return TRUE;
}

// Extension thread.
BOOL Request::write_client(void* buffer, DWORD* bytes, DWORD flags) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!usable_locked("WriteClient"))
    return FALSE;
  const bool async = (flags & HSE_IO_ASYNC) != 0;
  if (!io_allowed_locked(async, async ? "WriteClient(HSE_IO_ASYNC)" : "WriteClient(HSE_IO_SYNC)"))
    return FALSE;
  HSE_VECTOR_ELEMENT one{};
  one.ElementType = HSE_VECTOR_ELEMENT_TYPE_MEMORY_BUFFER;
  one.pvContext = buffer;
  one.cbSize = *bytes;
  return write_locked(lock, &one, 1, async);
}

// The one-operation rule of asynchronous I/O, and no synchronous I/O during it.
bool Request::io_allowed_locked(bool async, const char* call) {
  if (async) {
    report_locked(policy().on_async_io(facts_locked(), call));
    // Refused in both modes: the host keeps one completion routine and one operation.
    if (completion_ == nullptr || async_in_flight_locked())
      return fail(ERROR_INVALID_PARAMETER) != FALSE;
  } else if (report_locked(policy().on_sync_io(facts_locked(), call))) {
    return fail(ERROR_INVALID_PARAMETER) != FALSE;
  }
  return true;
}

// Extension thread: WriteClient's buffer, or a vector send's memory buffers, as one write.
// A sync write returns once the host has taken the bytes: at once within the write
// watermark, else when the socket took them (write_queue.h).
BOOL Request::write_locked(std::unique_lock<std::mutex>& lock, const HSE_VECTOR_ELEMENT* elements,
                           DWORD count, bool async, HostEvent* head) {
  // A write to a client that is gone fails as such, whatever else is wrong with it (an
  // extension that ignored its failed header call is not breaking the contract here).
  if (disconnected_)
    return fail(disconnect_error_ == ERROR_OPERATION_ABORTED ? ERROR_NETNAME_DELETED
                                                             : disconnect_error_);
  if (writes_failed_)
    return fail(ERROR_NETNAME_DELETED);
  if (!headers_sent_) {
    // IIS sends such bytes as they are: fine if they are a whole response head of the
    // extension's own ("HTTP/1.1 200 OK\r\n..."), a breach otherwise.
    const bool own_head =
        count > 0 && elements[0].cbSize >= 5 && std::memcmp(elements[0].pvContext, "HTTP/", 5) == 0;
    if (report_locked(policy().on_write_before_headers(own_head)))
      return fail(ERROR_INVALID_PARAMETER);
    headers_sent_ = true;
  }
  DWORD total = 0;
  for (DWORD i = 0; i < count; ++i)
    total += static_cast<DWORD>(elements[i].cbSize);
  // Framing that may refuse these bytes reports it with an event of its own: the head goes
  // out before it, as it would have on the wire.
  if (head != nullptr &&
      (chunks_ || (length_declared_ && body_written_ + total > declared_length_))) {
    if (!post_locked(std::move(*head)))
      return fail(ERROR_NETNAME_DELETED);
    head = nullptr;
  }
  HostEvent event{HostEvent::Kind::write, id_};
  for (DWORD i = 0; i < count; ++i) {
    if (!frame_body_locked(static_cast<const std::uint8_t*>(elements[i].pvContext),
                           static_cast<DWORD>(elements[i].cbSize), event.data))
      return fail(ERROR_NETNAME_DELETED);
  }
  // The events of a request reach the socket in the order they are posted here, so bytes
  // acknowledged before the socket took them are never reordered.
  // In verifier mode an asynchronous write completes only once the socket took it: acked
  // at once, its completion could run before the extension's next call, and a second
  // operation in flight, or a buffer changed while in flight, would be caught by timing.
  const WriteQueue::Write write = writes_.push(event.data.size(), async && policy().verify());
  const bool awaited = write.ack == WriteQueue::Ack::awaited;
  event.number = write.seq;
  event.flag = awaited;
  if (head != nullptr) {
    if (!awaited) {
      // The head and these bytes (a small response, often all of it) as one event:
      // JavaScript needs no write number for bytes acknowledged natively.
      if (head->data.empty())
        head->data = std::move(event.data);
      else
        head->data.insert(head->data.end(), event.data.begin(), event.data.end());
      event = std::move(*head);
    } else if (!post_locked(std::move(*head))) {
      return fail(ERROR_NETNAME_DELETED);
    }
  }
  if (!post_locked(std::move(event)))
    return fail(ERROR_NETNAME_DELETED);
  if (async) {
    async_op_ = AsyncOp::write;
    async_write_bytes_ = total;
    if (!awaited) {
      // Taken, as IIS's TCP stack takes it: complete now (on a pool thread, never inline).
      post_completion_locked(total, ERROR_SUCCESS);
      return TRUE;
    }
    async_write_seq_ = write.seq;
    if (policy().verify() && count == 1) {
      async_write_buffer_ = elements[0].pvContext;
      async_write_checksum_ = VerifierPolicy::checksum(async_write_buffer_, total);
    }
    return TRUE;
  }
  if (!awaited)
    return TRUE;
  ++sync_waiters_;
  changed_.wait(
      lock, [&] { return writes_.taken_through(write.seq) || writes_failed_ || disconnected_; });
  --sync_waiters_;
  if (!writes_.taken_through(write.seq) || writes_failed_)
    return fail(ERROR_NETNAME_DELETED);
  return TRUE;
}

// Extension thread. HSE_REQ_VECTOR_SEND: checked whole before anything goes out, then the
// head (HSE_IO_SEND_HEADERS) and the buffers as one write; HSE_IO_DISCONNECT_AFTER_SEND
// sends the head without keep-alive.
BOOL Request::vector_send_locked(std::unique_lock<std::mutex>& lock,
                                 const HSE_RESPONSE_VECTOR* vector) {
  const std::string problem = check_response_vector(vector);
  if (!problem.empty()) {
    report_locked(policy().on_bad_vector(problem));
    return fail(ERROR_INVALID_PARAMETER);
  }
  if (has_file_element(*vector))
    return fail(ERROR_INVALID_PARAMETER);
  const DWORD flags = vector->dwFlags;
  const bool async = (flags & HSE_IO_ASYNC) != 0;
  if (!io_allowed_locked(async, async ? "HSE_REQ_VECTOR_SEND(HSE_IO_ASYNC)"
                                      : "HSE_REQ_VECTOR_SEND(HSE_IO_SYNC)"))
    return FALSE;
  if ((flags & HSE_IO_SEND_HEADERS) == 0)
    return write_locked(lock, vector->lpElementArray, vector->nElementCount, async);
  HostEvent head{HostEvent::Kind::headers, id_};
  if (!head_event_locked(vector->pszStatus, vector->pszHeaders,
                         (flags & HSE_IO_DISCONNECT_AFTER_SEND) == 0, head))
    return FALSE;
  return write_locked(lock, vector->lpElementArray, vector->nElementCount, async, &head);
}

// Extension thread. Blocks this thread until body bytes arrive, the body ends or the
// client leaves. TRUE with *size 0 is the end of the body.
BOOL Request::read_client(void* buffer, DWORD* size) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!usable_locked("ReadClient"))
    return FALSE;
  if (report_locked(policy().on_sync_io(facts_locked(), "ReadClient")))
    return fail(ERROR_INVALID_PARAMETER);
  if (*size == 0)
    return TRUE;
  maybe_resume_locked();
  ++sync_waiters_;
  changed_.wait(lock, [this] { return body_.size() > 0 || body_ended_ || disconnected_; });
  --sync_waiters_;
  if (body_.size() > 0) {
    *size = static_cast<DWORD>(body_.take(static_cast<std::uint8_t*>(buffer), *size));
    maybe_resume_locked();
    return TRUE;
  }
  // The end of the body, or a client that is gone: IIS documents TRUE with 0 bytes for
  // both (isapi.md section 4); IS_CONNECTED tells them apart.
  *size = 0;
  return TRUE;
}

BOOL Request::async_read_locked(void* buffer, DWORD* size, DWORD* flags) {
  if (buffer == nullptr || size == nullptr)
    return fail(ERROR_INVALID_PARAMETER);
  (void)flags; // HSE_IO_ASYNC is the only mode; IIS does not check it either
  report_locked(policy().on_async_io(facts_locked(), "HSE_REQ_ASYNC_READ_CLIENT"));
  if (completion_ == nullptr || async_in_flight_locked())
    return fail(ERROR_INVALID_PARAMETER);
  async_op_ = AsyncOp::read;
  async_read_buffer_ = static_cast<std::uint8_t*>(buffer);
  async_read_size_ = *size;
  // Complete on a pool thread, never inline, even when the bytes are already here.
  if (body_.size() > 0) {
    const std::size_t n = body_.take(async_read_buffer_, async_read_size_);
    post_completion_locked(static_cast<DWORD>(n), ERROR_SUCCESS);
    maybe_resume_locked();
  } else if (body_ended_) {
    post_completion_locked(0, ERROR_SUCCESS);
  } else if (disconnected_) {
    post_completion_locked(0, disconnect_error_);
  } else {
    maybe_resume_locked();
  }
  return TRUE;
}

BOOL Request::send_headers_locked(const std::string& status, const std::string& headers,
                                  bool keep) {
  HostEvent event{HostEvent::Kind::headers, id_};
  if (!head_event_locked(status, headers, keep, event))
    return FALSE;
  if (!post_locked(std::move(event)))
    return fail(ERROR_NETNAME_DELETED);
  return TRUE;
}

BOOL Request::head_event_locked(const std::string& status, const std::string& headers, bool keep,
                                HostEvent& event) {
  if (disconnected_)
    return fail(ERROR_NETNAME_DELETED);
  if (headers_sent_)
    return fail(ERROR_INVALID_PARAMETER);
  ResponseHead head;
  const std::string problem = check_response_head(status, headers, head);
  if (!problem.empty()) {
    // Not only in verifier mode: Node cannot send such a head, and the client must get a
    // status line (a 500) rather than body bytes without one.
    report_locked(policy().on_bad_head(problem));
    return fail(ERROR_INVALID_PARAMETER);
  }
  headers_sent_ = true;
  const bool bodiless = head_request_ || head.status == 204 || head.status == 304 ||
                        (head.status >= 100 && head.status < 200);
  if (head.chunked && !bodiless)
    chunks_.reset(new ChunkParser);
  length_declared_ = head.has_length && !head.chunked && !bodiless;
  declared_length_ = head.content_length;
  event.number = head.status;
  event.text = std::move(head.reason);
  event.text2 = std::move(head.fields);
  event.flag = keep && client_keep_alive_;
  // Body bytes after the blank line (the deprecated form allows them) are framed like
  // any other write.
  const std::size_t split = std::min(head.body_offset, headers.size());
  if (!frame_body_locked(reinterpret_cast<const std::uint8_t*>(headers.data()) + split,
                         headers.size() - split, event.data))
    return fail(ERROR_NETNAME_DELETED);
  return TRUE;
}

BOOL Request::done_with_session_locked(const DWORD* status) {
  last_activity_ = clock::now();
  report_locked(policy().on_done(facts_locked()));
  if (done_)
    return fail(ERROR_INVALID_PARAMETER);
  finish_session_locked(status != nullptr ? *status : HSE_STATUS_SUCCESS);
  maybe_retire_locked();
  return TRUE;
}

// Extension thread.
BOOL Request::server_support_function(DWORD request, void* buffer, DWORD* size, DWORD* data_type) {
  std::unique_lock<std::mutex> lock(mutex_);
  // A second DONE is its own breach, not just "the ECB after DONE".
  if (request == HSE_REQ_DONE_WITH_SESSION) {
    return done_with_session_locked(static_cast<const DWORD*>(buffer));
  }
  if (!usable_locked("ServerSupportFunction"))
    return FALSE;
  switch (request) {
  case HSE_REQ_SEND_RESPONSE_HEADER: {
    // Deprecated form: status in lpvBuffer, header block (with its final CRLF) in the
    // fifth argument.
    const std::string status = text_of(static_cast<const char*>(buffer), 0);
    const std::string headers = text_of(reinterpret_cast<const char*>(data_type), 0);
    return send_headers_locked(status, headers, true);
  }
  case HSE_REQ_SEND_RESPONSE_HEADER_EX: {
    if (buffer == nullptr)
      return fail(ERROR_INVALID_PARAMETER);
    const auto* info = static_cast<const HSE_SEND_HEADER_EX_INFO*>(buffer);
    return send_headers_locked(text_of(info->pszStatus, info->cchStatus),
                               text_of(info->pszHeader, info->cchHeader), info->fKeepConn != 0);
  }
  case HSE_REQ_SEND_URL_REDIRECT_RESP: {
    if (buffer == nullptr)
      return fail(ERROR_INVALID_PARAMETER);
    const std::string location = static_cast<const char*>(buffer);
    const std::string body = "<head><title>Object moved</title></head><body><h1>Object Moved"
                             "</h1>This object may be found <a HREF=\"" +
                             location + "\">here</a>.</body>";
    const std::string headers =
        "Location: " + location +
        "\r\nContent-Type: text/html\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\n\r\n" + body;
    ecb_->dwHttpStatusCode = 302;
    return send_headers_locked("302 Object Moved", headers, true);
  }
  case HSE_REQ_IO_COMPLETION:
    // The routine in lpvBuffer, its context in the fifth argument; NULL clears it.
    completion_ = reinterpret_cast<PFN_HSE_IO_COMPLETION>(buffer);
    completion_context_ = data_type;
    return TRUE;
  case HSE_REQ_ASYNC_READ_CLIENT:
    return async_read_locked(buffer, size, data_type);
  case HSE_REQ_VECTOR_SEND:
    return vector_send_locked(lock, static_cast<const HSE_RESPONSE_VECTOR*>(buffer));
  case HSE_REQ_IS_KEEP_CONN:
    if (buffer == nullptr)
      return fail(ERROR_INVALID_PARAMETER);
    *static_cast<BOOL*>(buffer) = client_keep_alive_ ? TRUE : FALSE;
    return TRUE;
  case HSE_REQ_IS_CONNECTED:
    if (buffer == nullptr)
      return fail(ERROR_INVALID_PARAMETER);
    *static_cast<BOOL*>(buffer) = disconnected_ ? FALSE : TRUE;
    return TRUE;
  case HSE_REQ_CLOSE_CONNECTION:
    close_connection_locked();
    return TRUE;
#if defined(_WIN32)
  case HSE_APPEND_LOG_PARAMETER: // the Windows SDK's name for it
#else
  case HSE_REQ_APPEND_LOG_PARAMETER:
#endif
    if (buffer == nullptr)
      return fail(ERROR_INVALID_PARAMETER);
    log_parameter_ += static_cast<const char*>(buffer);
    return TRUE;
  case HSE_REQ_MAP_URL_TO_PATH: {
    if (buffer == nullptr || size == nullptr)
      return fail(ERROR_INVALID_PARAMETER);
    const std::string path = variables_.map_url_to_path(static_cast<const char*>(buffer));
    if (*size < path.size() + 1) {
      *size = static_cast<DWORD>(path.size() + 1);
      return fail(ERROR_INSUFFICIENT_BUFFER);
    }
    std::memcpy(buffer, path.c_str(), path.size() + 1);
    *size = static_cast<DWORD>(path.size() + 1);
    return TRUE;
  }
  default:
    return fail(ERROR_INVALID_PARAMETER);
  }
}

} // namespace isapi_host
