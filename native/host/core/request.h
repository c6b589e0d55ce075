// One HTTP request as the extension sees it: the ECB, its server variables, the body
// the client is still sending, and the response the extension writes. A state machine
// driven from three sides, all under mutex_:
//   - the JS thread (body bytes arrive, a write was taken by the socket, the client left),
//   - extension threads (the ECB callbacks; they may block here, never the JS thread),
//   - host pool threads (HttpExtensionProc, I/O completions).
// It ends (leaves the host's live set) when HttpExtensionProc has returned AND the
// session is done (DONE_WITH_SESSION, or a non-PENDING return), in either order.
#ifndef KALLITHEA_ISAPI_HOST_REQUEST_H
#define KALLITHEA_ISAPI_HOST_REQUEST_H

#include "body_buffer.h"
#include "chunk_parser.h"
#include "events.h"
#include "host_config.h"
#include "write_queue.h"
#include "server_variables.h"
#include "verifier_policy.h"
#include "isapi/abi.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace isapi_host {

class Host;

class Request : public std::enable_shared_from_this<Request> {
public:
  using clock = std::chrono::steady_clock;

  Request(std::shared_ptr<Host> host, std::uint64_t id, RequestInfo&& info);
  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;

  std::uint64_t id() const { return id_; }

  // --- JS thread -------------------------------------------------------------------
  /// Starts the request (dispatches at once when no body is expected).
  void start();
  /// Body bytes from the socket. Returns false when the host's buffer is full: JS pauses
  /// the request stream until a `resume` event.
  bool push_body(const std::uint8_t* data, std::size_t size);
  /// The client's body ended.
  void end_body();
  /// The socket took (ok) or refused (!ok) the bytes of every `write` event up to the one
  /// numbered `seq` (the event's number). JS answers only the events flagged as awaited.
  void write_done(std::uint32_t seq, bool ok);
  /// The client connection is gone.
  void client_gone();

  // --- any thread: the ECB callbacks -----------------------------------------------
  BOOL get_server_variable(const char* name, void* buffer, DWORD* size);
  BOOL write_client(void* buffer, DWORD* bytes, DWORD flags);
  BOOL read_client(void* buffer, DWORD* size);
  BOOL server_support_function(DWORD request, void* buffer, DWORD* size, DWORD* data_type);

  // --- host threads ------------------------------------------------------------------
  /// Verifier watchdog: a PENDING request without DONE after the deadline.
  void check_deadline(clock::time_point now);
  /// Host closing past its deadline: fail every wait and pending I/O as a disconnect.
  void abandon();

private:
  enum class AsyncOp { none, read, write };

  void dispatch_locked();
  void do_extension_proc();
  void do_completion(PFN_HSE_IO_COMPLETION routine, void* context, DWORD bytes, DWORD error);
  void post_completion_locked(DWORD bytes, DWORD error);
  void fail_pending_io_locked(DWORD error);
  void maybe_resume_locked();
  bool read_ahead_ready_locked() const;
  void finish_session_locked(DWORD status);
  void maybe_retire_locked();
  const VerifierPolicy& policy() const;
  RequestFacts facts_locked() const;
  /// An operation in flight, or finished with its completion routine not yet started.
  bool async_in_flight_locked() const;
  /// Reports a breach the policy found (a violation event; the rest of the request's I/O
  /// fails as if the client had gone). True when there was one.
  bool report_locked(const std::optional<Breach>& breach);
  void violation_locked(const Breach& breach);
  bool post_locked(HostEvent&& event);
  bool usable_locked(const char* call);

  BOOL send_headers_locked(const std::string& status, const std::string& headers, bool keep);
  /// Checks the head and fills a headers event with it (not posted). FALSE: refused (last
  /// error set).
  BOOL head_event_locked(const std::string& status, const std::string& headers, bool keep,
                         HostEvent& event);
  /// Response body bytes on their way to JS: de-chunked when the extension chunks, counted
  /// against its Content-Length (verifier). False when they broke the framing (reported).
  bool frame_body_locked(const std::uint8_t* data, std::size_t size,
                         std::vector<std::uint8_t>& out);
  /// At the end of the session: a body shorter than its framing promised (verifier).
  void check_body_end_locked(DWORD status);
  void close_connection_locked();
  BOOL done_with_session_locked(const DWORD* status);
  BOOL async_read_locked(void* buffer, DWORD* size, DWORD* flags);
  /// The rules of one asynchronous operation at a time (reported, and refused) and of no
  /// synchronous I/O while it is in flight. False: refused (last error set).
  bool io_allowed_locked(bool async, const char* call);
  /// Writes memory buffers as one write (WriteClient's one, a vector send's elements).
  /// `head`: a vector send's headers event, posted before the bytes or with them.
  BOOL write_locked(std::unique_lock<std::mutex>& lock, const HSE_VECTOR_ELEMENT* elements,
                    DWORD count, bool async, HostEvent* head = nullptr);
  BOOL vector_send_locked(std::unique_lock<std::mutex>& lock, const HSE_RESPONSE_VECTOR* vector);

  std::shared_ptr<Host> host_;
  const std::uint64_t id_;
  const ServerVariables variables_;
  const bool client_keep_alive_;
  const std::string request_line_; ///< "GET /raw/target", for violation reports
  std::string method_, query_, path_info_, path_translated_, content_type_;
  std::vector<std::uint8_t> read_ahead_;

  std::mutex mutex_;
  std::condition_variable changed_;

  // The ECB lives as long as the Request (shared_ptr held by every queued task); in
  // verifier mode it outlives it as a poisoned stub (bury_connection).
  std::unique_ptr<EXTENSION_CONTROL_BLOCK> ecb_owner_;
  EXTENSION_CONTROL_BLOCK* const ecb_;

  // Body from the client.
  BodyBuffer body_;
  std::uint64_t read_ahead_target_ = 0;
  bool body_ended_ = false;
  bool paused_ = false;     ///< JS was told to pause the request stream
  bool dispatched_ = false; ///< HttpExtensionProc queued

  // Connection.
  bool disconnected_ = false; ///< client left, CLOSE_CONNECTION, or a violation ended it
  DWORD disconnect_error_ = ERROR_OPERATION_ABORTED;

  // Response.
  bool headers_sent_ = false;
  WriteQueue writes_;          ///< response bytes handed to JS, not yet known taken by the socket
  bool writes_failed_ = false; ///< JS said the socket refused a write
  std::uint32_t async_write_seq_ = 0; ///< the async write awaiting JS (async_op_ == write)
  DWORD async_write_bytes_ = 0;
  const void* async_write_buffer_ = nullptr; ///< verifier: the extension's buffer, to recheck
  std::uint64_t async_write_checksum_ = 0;   ///< verifier: its checksum at submit
  unsigned sync_waiters_ = 0; ///< threads blocked in synchronous ReadClient/WriteClient
  std::string log_parameter_;
  const bool head_request_;
  std::unique_ptr<ChunkParser> chunks_; ///< the extension declared Transfer-Encoding: chunked
  bool length_declared_ = false;        ///< ... or a Content-Length (counted when verifying)
  std::uint64_t declared_length_ = 0;
  std::uint64_t body_written_ = 0;

  // Asynchronous I/O: one operation at a time.
  PFN_HSE_IO_COMPLETION completion_ = nullptr;
  void* completion_context_ = nullptr;
  AsyncOp async_op_ = AsyncOp::none;
  /// An operation finished and its completion routine is queued. The operation ends when
  /// the routine starts (which may start the next one): a second one before that is still
  /// a breach. Atomic, so the completion thread need not take mutex_ (the poster often
  /// still holds it) before it runs the routine.
  std::atomic<bool> completion_queued_{false};
  std::uint8_t* async_read_buffer_ = nullptr;
  DWORD async_read_size_ = 0;

  // Lifecycle.
  bool proc_returned_ = false;
  bool done_ = false;     ///< DONE_WITH_SESSION, a non-PENDING return, or the watchdog
  bool given_up_ = false; ///< the watchdog ended it: later calls are not violations
  bool retired_ = false;
  clock::time_point last_activity_ = clock::now(); ///< done_never measures idleness from here
};

} // namespace isapi_host

#endif
