// The few responses the DLL makes itself, when there is no bridge response to relay:
// 500 (bad configuration), 502 (bridge unreachable or broken), 503 (starting, overloaded,
// stopping). Small plain HTML, never a 200.
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
  unsigned retry_after = 0;
};

/// `detail` is shown escaped; `retry_after` > 0 adds Retry-After (seconds).
error_page make_error_page(unsigned status, const std::string& detail, unsigned retry_after = 0);

/// The same page with `note` as a second paragraph (escaped); lengths recomputed.
error_page add_note(const error_page& page, const std::string& note);

} // namespace kallithea_isapi
