// Bridge addresses as CONVENTIONS.md spells them: unix:/path, tcp:host:port,
// pipe:\\.\pipe\name (Windows).
#pragma once

#include <string>

namespace kallithea_isapi {

struct bridge_address {
  enum class kind { unix_socket, tcp, pipe } type = kind::unix_socket;
  std::string path; ///< unix socket path or pipe name
  std::string host; ///< tcp
  unsigned short port = 0;
  std::string text; ///< as written, for logs
};

/// Parses `text`; false with `error` set when it is not one of the three forms.
bool parse_bridge_address(const std::string& text, bridge_address& out, std::string& error);

} // namespace kallithea_isapi
