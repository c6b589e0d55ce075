#include "pool/address.hpp"

#include <asio/ip/address.hpp>

#include <charconv>

#if !defined(_WIN32)
#include <sys/un.h>
#endif

namespace kallithea_isapi {
namespace {

/// sockaddr_un::sun_path, less its terminating NUL. Windows' afunix.h has the same 108.
#if defined(_WIN32)
constexpr std::size_t max_unix_path = 108 - 1;
#else
constexpr std::size_t max_unix_path = sizeof(sockaddr_un{}.sun_path) - 1;
#endif

/// A Windows pipe name: \\.\pipe\ + at most 256 characters, none of them a backslash.
constexpr std::size_t max_pipe_name = 256;

bool parse_port(const std::string& text, unsigned short& out) {
  unsigned value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.size() > 5 || value == 0 || value > 65535)
    return false;
  out = static_cast<unsigned short>(value);
  return true;
}

} // namespace

bool parse_bridge_address(const std::string& text, bridge_address& out, std::string& error) {
  out = bridge_address{};
  out.text = text;
  if (text.find('\0') != std::string::npos) {
    error = "address contains a NUL character";
    return false;
  }
  if (text.rfind("unix:", 0) == 0) {
    out.type = bridge_address::kind::unix_socket;
    out.path = text.substr(5);
    if (out.path.empty()) {
      error = "unix: needs a socket path";
      return false;
    }
    // Checked here, not at connect: Asio throws name_too_long from inside a handler.
    if (out.path.size() > max_unix_path) {
      error = "unix: socket path is " + std::to_string(out.path.size()) + " bytes, at most " +
              std::to_string(max_unix_path) + " fit in sockaddr_un.sun_path; use a shorter path";
      return false;
    }
    return true;
  }
  if (text.rfind("pipe:", 0) == 0) {
    out.type = bridge_address::kind::pipe;
    out.path = text.substr(5);
    const std::string prefix = "\\\\.\\pipe\\";
    std::string name = out.path.rfind(prefix, 0) == 0 ? out.path.substr(prefix.size()) : "";
    if (name.empty() || name.find('\\') != std::string::npos || name.size() > max_pipe_name) {
      error = "pipe: needs a name like \\\\.\\pipe\\kallithea (at most 256 characters after "
              "\\\\.\\pipe\\, no backslash)";
      return false;
    }
    return true;
  }
  if (text.rfind("tcp:", 0) == 0) {
    out.type = bridge_address::kind::tcp;
    std::string rest = text.substr(4);
    std::size_t colon = rest.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == rest.size()) {
      error = "tcp: needs host:port, e.g. tcp:127.0.0.1:9000";
      return false;
    }
    out.host = rest.substr(0, colon);
    if (out.host.size() > 2 && out.host.front() == '[' && out.host.back() == ']')
      out.host = out.host.substr(1, out.host.size() - 2);
    // No name lookups in the DLL: a resolver can block, and the bridge is local anyway.
    std::error_code ec;
    asio::ip::make_address(out.host, ec);
    if (ec) {
      error = "tcp: host must be an IP address such as 127.0.0.1 or [::1], not '" + out.host + "'";
      return false;
    }
    if (!parse_port(rest.substr(colon + 1), out.port)) {
      error = "tcp: port must be 1-65535";
      return false;
    }
    return true;
  }
  error = "address must start with unix:, tcp: or pipe:";
  return false;
}

} // namespace kallithea_isapi
