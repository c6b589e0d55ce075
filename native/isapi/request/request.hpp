// The request driver: one client request, from HttpExtensionProc to DONE_WITH_SESSION, as a
// state machine of asynchronous steps run one at a time (serial_steps), each on the thread
// that brings it: the start on the IIS thread inside HttpExtensionProc, a bridge completion
// on the io thread that saw it, an ISAPI completion on the host's thread. It
// owns the pooled FastCGI connection while it has one, its windows (client -> bridge and
// bridge -> client, taken only once a connection is obtained), its timers, abort, and
// finishing exactly once. FastCGI sits behind three pieces: params_stream + encode_request_start
// (build), cgi_header_parser (header block) and the record parser (body).
//
// Where to read what may happen next: lifecycle_ (the whole request), upload_ (client body
// -> STDIN), download_ (STDOUT -> client) and response_ (how far the bridge's answer got).
// One ISAPI I/O at a time: the slot is busy while receiving_ is reading or sending_ is
// not nothing; the other side then waits (receiving_ wanted, download_ awaiting_slot). Both
// directions are double buffered: the bridge is read into out_ while out_sending_ goes to
// the client, and the client is read into up_next_ while up_ goes to the bridge.
//
// What ends it: every completion handler (bridge read/write, timer, ISAPI completion via
// isapi_self_) holds shared_from_this, and run_step holds it while the step runs or waits;
// the last one returns after do_done() called
// HSE_REQ_DONE_WITH_SESSION, which every path reaches exactly once (complete, page, abort,
// exception).
//
// Files, in data-flow order: request.cpp (start, queue, connection, retry, failure),
// request_upload.cpp (client body -> STDIN), request_download.cpp (STDOUT -> client),
// request_finish.cpp (page, cut, complete; DONE_WITH_SESSION).
#pragma once

#include "ecb/ecb.hpp"
#include "fastcgi/cgi_header.hpp"
#include "fastcgi/params.hpp"
#include "fastcgi/parser.hpp"
#include "pool/bridge_pool.hpp"
#include "request/error_page.hpp"
#include "request/serial_steps.hpp"

#include <asio.hpp>

#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kallithea_isapi {

class runtime;

class request : public std::enable_shared_from_this<request> {
public:
  /// The size of each window: one FastCGI record's worth (content is at most 65535 bytes).
  static constexpr std::size_t window = 65536;
  /// Room before the body in out_ for a chunk-size line, and after it for CRLF + "0\r\n\r\n".
  static constexpr std::size_t prefix_room = 16;
  static constexpr std::size_t suffix_room = 8;
  /// The size of each buffer (runtime::windows() hands them out): a window and that room.
  static constexpr std::size_t buffer_size = prefix_room + window + suffix_room;
  /// While queued, how often the client is asked whether it is still there.
  static constexpr std::chrono::milliseconds queue_poll{250};

  request(runtime& rt, EXTENSION_CONTROL_BLOCK* ecb);
  ~request();

  /// Begins on the calling thread (HttpExtensionProc's): reads the server variables, and with
  /// an idle bridge connection at hand sends the request and arms the read before
  /// returning. Never waits: a new connection is opened by the io threads. `page` set:
  /// answer with it instead of going to the bridge.
  void start(std::optional<error_page> page = std::nullopt);

  /// Ends the request early (TerminateExtension after drain_timeout). Idempotent.
  void abort();

  /// The ISAPI completion callback (any host thread): runs the completion there as a step.
  static void WINAPI on_isapi_complete(EXTENSION_CONTROL_BLOCK* ecb, LPVOID context, DWORD cb,
                                       DWORD error);

private:
  /// The whole request. Moves forward only, except connected -> queued for the one retry.
  enum class lifecycle {
    starting,       ///< posted; server variables are read next
    queued,         ///< waiting for a bridge connection; deadline and client poll armed
    connected,      ///< exchanging with the bridge (upload_, download_, response_)
    answering_page, ///< sending a page the DLL made; no bridge connection any more
    finishing,      ///< outcome decided; DONE_WITH_SESSION once no ISAPI I/O is out
    done,           ///< DONE_WITH_SESSION called: the ECB is never touched again
  };

  /// Client body -> STDIN, the bridge side: one bridge write at a time (from up_).
  enum class upload {
    not_started,   ///< no connection yet
    sending_start, ///< BEGIN_REQUEST + PARAMS (+ the empty STDIN of a bodiless request)
    idle,          ///< no write out: between steps, or waiting for the client's bytes
    writing_stdin, ///< a STDIN record with body bytes being written
    writing_last,  ///< the empty STDIN record being written
    done,          ///< the whole body reached the bridge
    stopped,       ///< the body goes nowhere any more (page, failure, early answer)
  };

  /// Client body -> STDIN, the client side: ReadClient into up_next_, also while up_ is
  /// being written to the bridge (read-ahead).
  enum class receiving {
    nothing, ///< no ReadClient wanted or out, and nothing held
    wanted,  ///< a ReadClient is due; waits for the ISAPI slot
    reading, ///< ReadClient outstanding (into up_next_)
    holding, ///< up_next_ holds next_len_ bytes (0: the end of an unknown length) for the
             ///< bridge, which is still taking the previous record
  };

  /// STDOUT -> the filling window (out_). Independent of sending_: the bridge is read into
  /// one window while the other goes to the client (double buffering).
  enum class download {
    not_started,    ///< no connection yet (or no bridge: a page)
    reading_bridge, ///< async_read_some outstanding
    idle,           ///< between steps, or nothing more to read (END_REQUEST seen)
    awaiting_slot,  ///< out_ must go to the client before more STDOUT is taken (full, head
                    ///< parsed, or the end seen); waits for the ISAPI slot
  };

  /// The window being written to the client (out_sending_).
  enum class sending {
    nothing, ///< no WriteClient outstanding
    window,  ///< a WriteClient of a full-or-partial window; more may follow
    last,    ///< the WriteClient that ends the response
  };

  /// How far the answer got.
  enum class response {
    awaiting_header, ///< STDOUT goes to the CGI header parser
    streaming,       ///< plan_ made; STDOUT body goes through the window
    end_seen,        ///< END_REQUEST parsed (or a page): what is in the window is the last
    complete,        ///< the last byte reached the client
  };

  enum class outcome { complete, cut };

  /// Counts a running step for runtime::stop(), from before it starts to after the request
  /// may have been destroyed: a step on a host thread may outlive the request's
  /// DONE_WITH_SESSION (it returns, drops the last reference, returns the windows), and the
  /// runtime must outlive that step. Defined in request.cpp (runtime is incomplete here).
  class step_count {
  public:
    explicit step_count(runtime& rt);
    ~step_count();
    step_count(const step_count&) = delete;
    step_count& operator=(const step_count&) = delete;

  private:
    runtime& rt_;
  };

  /// Runs `step` as one of this request's steps (now, or after the one running), failing the
  /// request if it throws. `self` keeps the request alive while the step waits and runs:
  /// the step may let go of every other reference. Callers on a host thread pass their last
  /// reference in, so that the request ends inside the counted step.
  template <class Step> static void run_step(std::shared_ptr<request> self, Step&& step) {
    step_count counted(self->rt_);
    request& r = *self;
    r.steps_.run(
        [self, step = std::forward<Step>(step)]() mutable { self->guarded([&] { step(); }); });
    self.reset(); // the request may end here, still inside the counted step
  }

  // request.cpp: start, queue, connection, retry, failure.
  /// Reads a server variable into params_ and returns its value there (empty if missing).
  std::string_view copy_variable(const char* name);
  void do_collect_variables();
  void do_acquire();
  void do_watch_queue();
  void on_queue_tick();
  void on_connection(acquire_error e, bridge_pool::connection c);
  void do_send_start();
  /// A bridge write's end: (the connection written to, the error).
  using bridge_write_done = void (request::*)(const bridge_pool::connection&, std::error_code);
  /// Writes all of `b` to conn_, then calls `done` (inline when the socket took it at once).
  void do_write_bridge(asio::const_buffer b, bridge_write_done done);
  void on_start_written(const bridge_pool::connection& c, std::error_code ec);
  bool may_retry_after_read_failure() const;
  void do_retry(const std::string& why);
  void on_bridge_failure(const std::string& why);

  // request_finish.cpp: endings.
  void respond_with_page(const error_page& page);
  void fail_client(const std::string& why);
  void finish(outcome o);
  void do_done();
  /// Returns every window to the pool (moved-from vectors are empty: put ignores them).
  void give_back_windows();
  void release_connection(bool reusable);
  void on_internal_error(const char* what) noexcept;
  /// Runs one step; an exception fails this request (logged, DONE_WITH_SESSION) instead of
  /// leaving the io thread.
  template <class F> void guarded(F&& f) noexcept {
    try {
      f();
    } catch (const std::exception& e) {
      on_internal_error(e.what());
    } catch (...) {
      on_internal_error("unknown exception");
    }
  }

  // request_upload.cpp: client body -> STDIN.
  std::uint8_t* up();
  std::uint8_t* up_next();
  void do_upload_next();
  void do_write_stdin(std::size_t content);
  void on_stdin_written(const bridge_pool::connection& c, std::error_code ec);
  void do_read_client();
  void on_client_read(DWORD cb, DWORD error);
  bool body_all_read() const;

  // request_download.cpp: STDOUT -> client, and the one ISAPI slot.
  void do_read_bridge();
  void on_bridge_read(const bridge_pool::connection& c, std::error_code ec, std::size_t n);
  void process_bridge_bytes();
  bool on_end_request();
  std::size_t take_body(const std::uint8_t* data, std::size_t size);
  void do_write_client();
  void on_client_written(DWORD error);
  bool isapi_busy() const;
  void do_schedule_isapi();
  void on_isapi_done(DWORD cb, DWORD error);
  void log_stderr(const std::uint8_t* data, std::size_t size, bool record_end);

  runtime& rt_;
  ecb_calls ecb_;
  serial_steps steps_;
  std::shared_ptr<request> isapi_self_; ///< keeps this alive while an ISAPI I/O is out

  lifecycle lifecycle_ = lifecycle::starting;
  upload upload_ = upload::not_started;
  receiving receiving_ = receiving::nothing;
  download download_ = download::not_started;
  sending sending_ = sending::nothing;
  response response_ = response::awaiting_header;

  // Request facts.
  std::string method_, protocol_;
  fastcgi::params_stream params_; ///< the request's own pairs, encoded, then the secret
  std::size_t own_pairs_ = 0;     ///< params_ mark after the request's own pairs
  bool body_length_known_ = true;
  std::uint64_t body_total_ = 0;    ///< declared length (when known)
  std::uint64_t body_preread_ = 0;  ///< of it, in lpbData
  std::uint64_t body_received_ = 0; ///< bytes taken from the client, lpbData included
  std::size_t preread_sent_ = 0;    ///< how much of lpbData went to STDIN
  bool client_body_eof_ = false;    ///< unknown length: ReadClient returned 0

  // Waiting for a connection.
  asio::steady_timer queue_timer_;
  std::chrono::steady_clock::time_point queue_deadline_{};
  bridge_pool::ticket ticket_ = 0;

  // The bridge connection (null when none).
  bridge_pool::connection conn_;
  std::uint64_t conn_uses_ = 0; ///< requests the connection served before this one
  unsigned retries_ = 0;
  bool conn_tail_clean_ = false; ///< END_REQUEST was the last byte the bridge sent
  byte_buffer start_spill_;      ///< the opening bytes when the pairs span PARAMS records

  // Client -> bridge windows (taken only by requests with a body).
  std::vector<std::uint8_t> up_;      ///< the STDIN record being written or built
  std::vector<std::uint8_t> up_next_; ///< the ReadClient target
  std::size_t next_len_ = 0;          ///< receiving_ holding: bytes in up_next_

  // Bridge -> client window.
  std::vector<std::uint8_t> rx_;
  std::size_t rx_pos_ = 0, rx_end_ = 0;
  fastcgi::record_parser parser_;
  fastcgi::record_piece piece_; ///< the STDOUT piece being moved into the window
  std::size_t piece_used_ = 0;  ///< of piece_.size (piece_.size == 0: none pending)
  fastcgi::cgi_header_parser head_parser_;
  std::uint64_t stdout_bytes_ = 0; ///< STDOUT content seen (retries need none)
  fastcgi::response_plan plan_;
  std::vector<std::uint8_t>
      out_;                 ///< the window being filled: [prefix room][body][CRLF + last chunk]
  std::size_t out_len_ = 0; ///< body bytes in out_
  /// The window a WriteClient is sending while out_ fills (taken when a second one is
  /// first needed: a small answer goes in one write and never takes it).
  std::vector<std::uint8_t> out_sending_;
  std::size_t out_write_ = 0; ///< body bytes in the WriteClient outstanding
  bool last_chunk_sent_ = false;
  bool headers_sent_ = false; ///< the head is out or goes with the write out (no page then)
  std::uint64_t body_sent_ = 0;
  std::string stderr_line_;
  unsigned status_code_ = 0;

  // Ending.
  bool keep_conn_ = false; ///< the DONE_WITH_SESSION status, fixed by finish()
};

} // namespace kallithea_isapi
