// One resumable FastCGI record parser for everything the bridge sends (STDOUT, STDERR,
// END_REQUEST), used for both the header block and the body. Its state lives in the object,
// so a record split across reads at any byte resumes where it stopped (as nginx's
// ngx_http_fastcgi_process_record). Each byte is checked where it lands and errors name
// the peer.
#pragma once

#include <cstddef>
#include <cstdint>

namespace kallithea_isapi::fastcgi {

enum class parse_result {
  ok,    ///< `out` holds one event
  again, ///< input exhausted; call again with more bytes
  error, ///< protocol violation; error() says which
};

/// One event: a run of a record's content, or the end of a record.
struct record_piece {
  std::uint8_t type = 0;
  const std::uint8_t* data = nullptr; ///< points into the caller's input; valid until reuse
  std::size_t size = 0;
  bool record_end = false; ///< the last event of this record (size may be 0)
  // For END_REQUEST (on its record_end event):
  std::uint32_t app_status = 0;
  std::uint8_t protocol_status = 0;
};

class record_parser {
public:
  /// Consumes bytes from [pos, end) and advances pos. Returns ok with one event, again when
  /// more input is needed, error on a violation (the parser then stays in error).
  parse_result parse(const std::uint8_t*& pos, const std::uint8_t* end, record_piece& out);

  /// What went wrong, phrased as "bridge sent ...".
  const char* error() const { return error_; }

  /// True between records (no partial record pending): EOF here is a clean boundary.
  bool at_record_boundary() const { return state_ == state::version && !in_record_; }

  /// Back to the first byte of a record (a new request on a reused connection).
  void reset() { *this = record_parser{}; }

private:
  enum class state {
    version,
    type,
    request_id_hi,
    request_id_lo,
    content_length_hi,
    content_length_lo,
    padding_length,
    reserved,
    content,
    record_done, ///< content delivered; the record's end event is owed
    padding,
  };

  parse_result fail(const char* why) {
    state_ = state::version;
    failed_ = true;
    error_ = why;
    return parse_result::error;
  }
  parse_result end_record(record_piece& out);

  state state_ = state::version;
  bool in_record_ = false;
  bool failed_ = false;
  const char* error_ = "";
  std::uint8_t type_ = 0;
  std::uint16_t request_id_ = 0;
  std::size_t content_length_ = 0;
  std::size_t content_left_ = 0;
  std::size_t padding_left_ = 0;
  std::uint8_t end_body_[8] = {}; ///< END_REQUEST's body, gathered across reads
  std::size_t end_body_size_ = 0;
};

} // namespace kallithea_isapi::fastcgi
