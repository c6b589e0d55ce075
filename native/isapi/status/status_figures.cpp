#include "status/status_figures.hpp"

#include <cstdio>
#include <cstring>

namespace kallithea_isapi {
namespace {

void append_string(std::string& out, const std::string& s) {
  out += '"';
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c); // UTF-8 passes through as bytes
    }
  }
  out += '"';
}

void field(std::string& out, const char* name, const std::string& value) {
  out += out.size() > 1 ? ",\"" : "\"";
  out += name;
  out += "\":";
  append_string(out, value);
}

template <class Number> void field(std::string& out, const char* name, Number value) {
  out += out.size() > 1 ? ",\"" : "\"";
  out += name;
  out += "\":";
  out += std::to_string(value);
}

} // namespace

bool is_status_path(const char* path_info) {
  if (!path_info)
    return false;
  std::size_t n = std::strlen(path_info), m = sizeof status_path - 1;
  return n >= m && std::memcmp(path_info + n - m, status_path, m) == 0;
}

std::string encode_status(const status_figures& f) {
  std::string out = "{";
  field(out, "version", f.version);
  field(out, "uptime_ms", f.uptime_ms);
  field(out, "mode", f.mode);
  field(out, "requests_in_flight", f.requests_in_flight);
  field(out, "requests_queued", f.requests_queued);
  field(out, "connections", f.connections);
  field(out, "idle_connections", f.idle_connections);
  field(out, "max_connections", f.max_connections);
  field(out, "max_queued", f.max_queued);
  field(out, "bridge_state", f.bridge_state);
  field(out, "bridge_restarts", f.bridge_restarts);
  field(out, "last_failure", f.last_failure);
  field(out, "last_failure_unix_ms", f.last_failure_unix_ms);
  out += '}';
  return out;
}

} // namespace kallithea_isapi
