// The status and header block an extension hands to SEND_RESPONSE_HEADER(_EX), checked
// before any of it reaches Node: Node's writeHead throws on a header name that is not a
// token, on a control character in a value and on a status outside 100-999, and a throw
// there used to leave the client with body bytes and no status line. Lines end at LF or
// CRLF; the body starts after the blank line.
#ifndef KALLITHEA_ISAPI_HOST_RESPONSE_HEAD_H
#define KALLITHEA_ISAPI_HOST_RESPONSE_HEAD_H

#include <cstddef>
#include <cstdint>
#include <string>

namespace isapi_host {

struct ResponseHead {
  unsigned status = 200;
  std::string reason = "OK"; ///< the status text after the code (empty when there is none)
  /// The header lines, trimmed, as "name\nvalue\nname\nvalue" (neither holds a LF): what
  /// JavaScript hands to writeHead, without parsing the block again.
  std::string fields;
  bool has_length = false;
  std::uint64_t content_length = 0;
  bool chunked = false;        ///< Transfer-Encoding names chunked: the extension frames the body
  std::size_t body_offset = 0; ///< where the bytes after the blank line start in the block
};

/// Parses and checks; returns "" when the head is fine, else what is wrong with it.
std::string check_response_head(const std::string& status, const std::string& block,
                                ResponseHead& head);

} // namespace isapi_host

#endif
