// The request's opening bytes: BEGIN_REQUEST(KEEP_CONN), the PARAMS stream and its empty
// closing record (and, for a request without a body, the empty STDIN record). The pairs are
// encoded once, as the request reads them (params_stream, limits checked pair by pair with
// a named error), into one buffer that leaves room in front for BEGIN_REQUEST and the first
// PARAMS header: pairs that fit one record (every usual request) are framed in place and
// sent from there. A server variable is read straight into its place in the stream
// (open_value), so no value is held anywhere else.
#pragma once

#include "memory/byte_buffer.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kallithea_isapi::fastcgi {

using param_list = std::vector<std::pair<std::string, std::string>>;

/// Limits on what one request may carry in PARAMS.
struct params_limits {
  std::size_t max_value = 1024 * 1024;     ///< one value (ALL_RAW holds every header)
  std::size_t max_total = 2 * 1024 * 1024; ///< all pairs together
};

enum class params_error { none, value_too_large, params_too_large };

/// Human text for a params_error (names the failure for logs and pages).
const char* describe(params_error e);

/// Size of one encoded name-value pair (1- or 4-byte lengths per FastCGI 3.4).
std::size_t pair_size(std::string_view name, std::string_view value);

/// A run of bytes to send, valid until the stream it came from changes.
struct byte_range {
  const std::uint8_t* data = nullptr;
  std::size_t size = 0;
};

/// The PARAMS pairs of one request, encoded as they are added into one buffer (reserved at
/// its usual size on the first pair): no pair is held as strings.
class params_stream {
public:
  explicit params_stream(const params_limits& limits = {}) : limits_(limits) {}

  /// Appends one pair. The first pair over a limit sets error() and offending_name(); from
  /// then on adds are ignored (the request is refused whole).
  void add(std::string_view name, std::string_view value);

  /// Appends a pair whose value is written in place: returns where up to `room` bytes of
  /// it may be written (contents unspecified), then close_value(size) keeps `size` of them
  /// (limits checked as add() does) and returns the value where it now lies (valid until
  /// the stream changes; empty when refused), or drop_value() takes the pair off. Nothing
  /// else may be called in between. Returns nullptr once error() is set.
  char* open_value(std::string_view name, std::size_t room);
  std::string_view close_value(std::size_t size);
  void drop_value();

  /// A point to rewind() to: a pair added for one connection only (the secret) is added
  /// after it, encoded, and taken off again.
  std::size_t mark() const { return pairs_end_; }
  /// Drops every pair added after `mark`, and clears the error.
  void rewind(std::size_t mark);

  /// Empties the stream for another request, keeping the buffer.
  void clear() { rewind(front_room); }

  params_error error() const { return error_; }
  const std::string& offending_name() const { return offending_name_; }
  /// The encoded pairs (the PARAMS stream's content, not yet cut into records).
  byte_range pairs() const {
    if (pairs_end_ == front_room)
      return {};
    return {bytes_.data() + front_room, pairs_end_ - front_room};
  }

  /// The request's opening bytes: BEGIN_REQUEST + the pairs cut into PARAMS records (pairs
  /// may span records: PARAMS is one byte stream) + empty PARAMS (+ empty STDIN when
  /// `close_stdin`). Framed in place when the pairs fit one record; else copied into
  /// `spill` (its capacity reused). Valid until the stream changes. error() must be none.
  byte_range frame(bool close_stdin, byte_buffer& spill);

private:
  /// Room in front of the pairs for BEGIN_REQUEST and the first PARAMS record header.
  static constexpr std::size_t front_room = 16 + 8;
  /// What a browser's request needs (ALL_RAW with cookies included), reserved at once.
  static constexpr std::size_t usual_size = 4096;
  /// Ends the buffer at the last pair (frame() may have put closing records after it).
  void trim() { bytes_.resize(pairs_end_); }

  params_limits limits_;
  byte_buffer bytes_;
  std::size_t pairs_end_ = front_room; ///< the pairs are [front_room, pairs_end_)
  std::size_t open_at_ = 0;            ///< open_value(): where the pair begins
  std::size_t open_room_ = 0;          ///< open_value(): the room asked for
  params_error error_ = params_error::none;
  std::string offending_name_;
};

/// Encodes BEGIN_REQUEST + the pairs cut into PARAMS records + empty PARAMS (+ empty STDIN
/// when `close_stdin`) into `out`, replacing its contents and reusing its capacity: what
/// params_stream::frame() does when the pairs do not fit one record.
void encode_request_start(byte_range pairs, bool close_stdin, byte_buffer& out);

/// Decodes a PARAMS byte stream (for tests and diagnostics); false when malformed.
bool decode_params(const std::uint8_t* data, std::size_t size, param_list& out);

} // namespace kallithea_isapi::fastcgi
