// The request's opening bytes: BEGIN_REQUEST(KEEP_CONN), the PARAMS stream and its empty
// closing record (and, for a request without a body, the empty STDIN record). The pairs are
// encoded once, as the request reads them (params_stream, limits checked pair by pair with
// a named error, one buffer), and framed into records in a second buffer of the exact size
// (reused on a retry): two allocations where strings per pair cost about forty.
#pragma once

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

/// The PARAMS pairs of one request, encoded as they are added into one buffer (reserved at
/// its usual size on the first pair): no pair is held as strings.
class params_stream {
public:
  explicit params_stream(const params_limits& limits = {}) : limits_(limits) {}

  /// Appends one pair. The first pair over a limit sets error() and offending_name(); from
  /// then on adds are ignored (the request is refused whole).
  void add(std::string_view name, std::string_view value);

  /// A point to rewind() to: a pair added for one connection only (the secret) is added
  /// after it, encoded, and taken off again.
  std::size_t mark() const { return bytes_.size(); }
  /// Drops every pair added after `mark`, and clears the error.
  void rewind(std::size_t mark);

  /// Empties the stream for another request, keeping the buffer.
  void clear() { rewind(0); }

  params_error error() const { return error_; }
  const std::string& offending_name() const { return offending_name_; }
  /// The encoded pairs (the PARAMS stream's content, not yet cut into records).
  const std::vector<std::uint8_t>& bytes() const { return bytes_; }

private:
  /// What a browser's request needs (ALL_RAW with cookies included), reserved at once.
  static constexpr std::size_t usual_size = 4096;
  params_limits limits_;
  std::vector<std::uint8_t> bytes_;
  params_error error_ = params_error::none;
  std::string offending_name_;
};

/// Encodes BEGIN_REQUEST + the pairs cut into PARAMS records (pairs may span records:
/// PARAMS is one byte stream) + empty PARAMS (+ empty STDIN when `close_stdin`) into `out`,
/// replacing its contents and reusing its capacity. `pairs` must hold no error.
void encode_request_start(const params_stream& pairs, bool close_stdin,
                          std::vector<std::uint8_t>& out);

/// Decodes a PARAMS byte stream (for tests and diagnostics); false when malformed.
bool decode_params(const std::uint8_t* data, std::size_t size, param_list& out);

} // namespace kallithea_isapi::fastcgi
