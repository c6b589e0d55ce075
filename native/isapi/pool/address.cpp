#include "pool/address.hpp"

namespace kallithea_isapi {

bool parse_bridge_address(const std::string& text, bridge_address& out, std::string& error) {
  out = bridge_address{};
  out.text = text;
  if (text.rfind("unix:", 0) == 0) {
    out.type = bridge_address::kind::unix_socket;
    out.path = text.substr(5);
    if (out.path.empty()) {
      error = "unix: needs a socket path";
      return false;
    }
    return true;
  }
  if (text.rfind("pipe:", 0) == 0) {
    out.type = bridge_address::kind::pipe;
    out.path = text.substr(5);
    if (out.path.rfind("\\\\.\\pipe\\", 0) != 0 || out.path.size() <= 9) {
      error = "pipe: needs a name like \\\\.\\pipe\\kallithea";
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
    std::string port = rest.substr(colon + 1);
    if (port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5 ||
        std::stoul(port) == 0 || std::stoul(port) > 65535) {
      error = "tcp: port must be 1-65535";
      return false;
    }
    out.port = static_cast<unsigned short>(std::stoul(port));
    return true;
  }
  error = "address must start with unix:, tcp: or pipe:";
  return false;
}

} // namespace kallithea_isapi
