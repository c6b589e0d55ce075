// The CGI header block the bridge sends at the start of STDOUT (`Status: 200 OK`, headers,
// a blank line), and how the DLL frames the body that follows for the client: IIS does not
// chunk for ISAPI extensions (isapi.md section 6), so a response without Content-Length is
// chunked here for HTTP/1.1 clients and ended by close for HTTP/1.0 ones.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kallithea_isapi::fastcgi {

struct cgi_head {
  unsigned status = 200;
  std::string status_text = "200 OK";
  std::vector<std::pair<std::string, std::string>> headers; ///< without Status and hop-by-hop
  std::optional<std::uint64_t> content_length;
};

enum class header_result { ok, again, error };

/// Gathers STDOUT bytes until the blank line, within a fixed limit ("bridge sent too big
/// header"), then parses them. Lines may end in CRLF or LF.
class cgi_header_parser {
public:
  explicit cgi_header_parser(std::size_t max_size = 64 * 1024) : max_size_(max_size) {}

  /// Takes bytes from [data, data+size); `consumed` says how many belonged to the header
  /// block (the rest is body). ok: head() is ready.
  header_result feed(const std::uint8_t* data, std::size_t size, std::size_t& consumed);

  const cgi_head& head() const { return head_; }
  const char* error() const { return error_; }

private:
  /// Parses the whole block (block_, or the fed bytes when they held all of it).
  header_result parse_block(std::string_view block);

  std::size_t max_size_;
  std::string block_;
  cgi_head head_;
  const char* error_ = "";
};

enum class body_framing {
  none,    ///< HEAD, 1xx, 204, 304: no body is sent (whatever the bridge sends is dropped)
  length,  ///< Content-Length given: sent as is, never more than declared
  chunked, ///< no length, HTTP/1.1 client: the DLL chunks
  close,   ///< no length, HTTP/1.0 client: the end is the connection's close (HTTP/2 and 3:
           ///< the end of the stream, and the connection stays open)
};

struct response_plan {
  std::string status;       ///< "200 OK", for SEND_RESPONSE_HEADER_EX
  std::string header_block; ///< "Name: value\r\n..." + "\r\n"
  body_framing framing = body_framing::length;
  bool keep_conn = true;
  std::uint64_t content_length = 0; ///< for framing::length
};

/// Decides the framing from the head, the request method and SERVER_PROTOCOL.
response_plan plan_response(const cgi_head& head, const std::string& method,
                            const std::string& protocol);

/// Writes the chunk-size line for a chunk of `n` bytes ("1f40\r\n"); returns its length.
/// `out` needs room for 18 bytes.
std::size_t write_chunk_prefix(char* out, std::size_t n);

} // namespace kallithea_isapi::fastcgi
