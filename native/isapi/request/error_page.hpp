// The few responses the DLL makes itself, when there is no bridge response to relay:
// 500 (bad configuration), 502 (bridge unreachable or broken), 503 (starting, overloaded,
// stopping). Small plain HTML, never a 200. Each page sent carries an error id (in its body
// and in X-Kallithea-Isapi-Error-Id, which Failed Request Tracing records with the response
// headers) that its line in the DLL's log repeats, so a user's screenshot, a FREB entry and
// the log line can be matched.
#pragma once

#include <string>

namespace kallithea_isapi {

struct error_page {
  unsigned status = 500;
  std::string status_text;  ///< "502 Bad Gateway"
  std::string header_block; ///< ends with the blank line
  std::string body;
  std::string detail; ///< as given, for add_note's re-rendering
  std::string note;   ///< a second paragraph, e.g. that the DLL's log cannot be written
  std::string id;     ///< the error id, once with_id() gave it one
  unsigned retry_after = 0;
};

/// `detail` is shown escaped; `retry_after` > 0 adds Retry-After (seconds).
error_page make_error_page(unsigned status, const std::string& detail, unsigned retry_after = 0);

/// The same page with `note` as a second paragraph (escaped); lengths recomputed.
error_page add_note(const error_page& page, const std::string& note);

/// The same page naming `id` in its body and in X-Kallithea-Isapi-Error-Id.
error_page with_id(const error_page& page, const std::string& id);

/// A fresh error id: 12 lowercase hex digits from the OS's randomness (ids of different
/// w3wp runs do not repeat), or a process-wide sequence number should it have none.
std::string new_error_id();

} // namespace kallithea_isapi
