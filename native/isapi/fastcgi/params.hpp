// The request's opening bytes: BEGIN_REQUEST(KEEP_CONN), the PARAMS stream and its empty
// closing record (and, for a request without a body, the empty STDIN record). Like nginx's
// create_request it measures every pair first, refuses what is over the limits with a named
// error, and then encodes into one buffer of the exact size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
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

struct encoded_request {
  std::vector<std::uint8_t> bytes;
  params_error error = params_error::none;
  std::string offending_name; ///< the pair that broke a limit
};

/// Size of one encoded name-value pair (1- or 4-byte lengths per FastCGI 3.4).
std::size_t pair_size(const std::string& name, const std::string& value);

/// Encodes BEGIN_REQUEST + PARAMS records + empty PARAMS (+ empty STDIN when
/// `close_stdin`). Pairs may span PARAMS records: PARAMS is one byte stream.
encoded_request encode_request_start(const param_list& params, bool close_stdin,
                                     const params_limits& limits = {});

/// Decodes a PARAMS byte stream (for tests and diagnostics); false when malformed.
bool decode_params(const std::uint8_t* data, std::size_t size, param_list& out);

} // namespace kallithea_isapi::fastcgi
