// The request driver: one client request, from HttpExtensionProc to DONE_WITH_SESSION, as a
// state machine of asynchronous steps on its own strand. It owns the pooled FastCGI
// connection while it has one, its two 64 KiB windows (client -> bridge and bridge -> client)
// and finishing exactly once. FastCGI sits behind three pieces: encode_request_start (build),
// cgi_header_parser (header block) and the record parser (body).
//
// What ends it: the last completion handler holding shared_from_this returns after done()
// called HSE_REQ_DONE_WITH_SESSION; there is one on every path (complete, page, abort).
#pragma once

#include "ecb/ecb.hpp"
#include "fastcgi/cgi_header.hpp"
#include "fastcgi/params.hpp"
#include "fastcgi/parser.hpp"
#include "pool/bridge_pool.hpp"
#include "request/error_page.hpp"

#include <asio.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
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

  request(runtime& rt, EXTENSION_CONTROL_BLOCK* ecb);
  ~request();

  /// Begins on the strand. `page` set: answer with it instead of going to the bridge.
  void start(std::optional<error_page> page = std::nullopt);

  /// Ends the request early (TerminateExtension after drain_timeout). Idempotent.
  void abort();

  /// The ISAPI completion callback (any host thread): hops onto the strand.
  static void WINAPI on_isapi_complete(EXTENSION_CONTROL_BLOCK* ecb, LPVOID context, DWORD cb,
                                       DWORD error);

private:
  enum class isapi_op { none, read, write };

  // Steps, in order.
  void do_collect_variables();
  void do_acquire(bool fresh);
  void on_connection(acquire_error e, bridge_pool::connection c);
  void do_write_request_start();
  std::uint8_t* up();
  void do_upload_next();
  void do_write_stdin(std::size_t content);
  void on_stdin_written(std::uint64_t epoch, std::size_t content, std::error_code ec);
  void do_read_bridge();
  void process_bridge_bytes();
  void do_schedule_isapi();
  void do_write_client();
  void do_read_client();
  void on_isapi_done(DWORD cb, DWORD error);
  void on_client_read(DWORD cb, DWORD error);
  void on_client_written(DWORD error);

  // Endings.
  void on_bridge_failure(const std::string& why);
  void respond_with_page(const error_page& page);
  void fail_client(const std::string& why);
  void finish(bool complete);
  void do_done();
  void release_connection(bool reusable);

  std::size_t take_body(const std::uint8_t* data, std::size_t size);
  void encode_and_send_start();
  void log_stderr(const std::uint8_t* data, std::size_t size, bool record_end);

  runtime& rt_;
  ecb_calls ecb_;
  asio::strand<asio::io_context::executor_type> strand_;
  std::shared_ptr<request> isapi_self_; ///< keeps this alive while an ISAPI I/O is out

  // Request facts.
  std::string method_, protocol_;
  fastcgi::param_list params_;
  bool body_length_known_ = true;
  std::uint64_t body_total_ = 0;    ///< declared length (when known)
  std::uint64_t body_received_ = 0; ///< bytes taken from the client, lpbData included
  std::size_t preread_sent_ = 0;    ///< how much of lpbData went to STDIN
  bool client_body_eof_ = false;

  // The bridge connection.
  bridge_pool::connection conn_;
  bool conn_was_reused_ = false;
  unsigned retries_ = 0;
  bool bridge_failed_ = false;
  std::vector<std::uint8_t> start_bytes_;

  // Client -> bridge window.
  std::vector<std::uint8_t> up_;
  bool stdin_writing_ = false;
  bool release_after_stdin_ = false; ///< finished while the last STDIN write was completing
  bool upload_done_ = false;         ///< the empty STDIN record went out
  bool want_client_read_ = false;
  bool client_body_read_ = false; ///< any byte beyond lpbData was read (no retry after that)

  // Bridge -> client window.
  std::vector<std::uint8_t> rx_;
  std::size_t rx_pos_ = 0, rx_end_ = 0;
  bool bridge_reading_ = false;
  fastcgi::record_parser parser_;
  fastcgi::record_piece piece_; ///< the STDOUT piece being moved into the window
  std::size_t piece_used_ = 0;  ///< of piece_.size
  bool have_piece_ = false;
  fastcgi::cgi_header_parser head_parser_;
  bool head_done_ = false;
  bool got_stdout_ = false;
  fastcgi::response_plan plan_;
  std::vector<std::uint8_t> out_; ///< [prefix room][body][CRLF + last chunk]
  std::size_t out_len_ = 0;       ///< body bytes in out_
  bool headers_sent_ = false;
  bool end_request_seen_ = false;
  bool last_chunk_sent_ = false;
  std::uint64_t body_sent_ = 0;
  std::string stderr_line_;
  bool local_page_ = false;
  unsigned status_code_ = 0;
  std::uint64_t epoch_ = 0; ///< per bridge connection; completions of older ones are ignored

  // ISAPI I/O: at most one at a time.
  isapi_op isapi_op_ = isapi_op::none;
  bool want_client_write_ = false;
  bool out_ends_response_ = false; ///< the pending write holds the last bytes

  // Ending.
  bool finishing_ = false;
  bool finish_keep_conn_ = false;
  bool close_client_ = false;
  bool done_ = false;
};

} // namespace kallithea_isapi
