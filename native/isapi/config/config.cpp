#include "config/config.hpp"

#include "platform/files.hpp"
#include "pool/address.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

namespace kallithea_isapi {
namespace {

std::string trim(const std::string& s) {
  const char* ws = " \t\r\n";
  auto b = s.find_first_not_of(ws);
  if (b == std::string::npos)
    return {};
  auto e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

bool is_absolute(const std::string& p) {
  if (!p.empty() && (p[0] == '/' || p[0] == '\\'))
    return true;
  return p.size() > 2 && p[1] == ':' && (p[2] == '\\' || p[2] == '/');
}

std::string join_path(const std::string& dir, const std::string& p) {
  if (p.empty() || is_absolute(p) || dir.empty())
    return p;
  return dir + path_separator() + p;
}

/// Builds errors in one shape: file, key, what is wrong, how to fix it.
struct error_text {
  const std::string& file;
  std::string operator()(const std::string& key, const std::string& problem,
                         const std::string& fix) const {
    return (file.empty() ? std::string("kallithea-isapi.ini") : file) + ": [isapi] " + key + ": " +
           problem + "; " + fix;
  }
};

bool parse_count(const std::string& v, unsigned long max, unsigned long& out) {
  if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos)
    return false;
  errno = 0;
  unsigned long n = std::strtoul(v.c_str(), nullptr, 10);
  if (errno != 0 || n > max)
    return false;
  out = n;
  return true;
}

bool parse_seconds(const std::string& v, std::chrono::milliseconds& out) {
  if (v.empty() || v.find_first_not_of("0123456789.") != std::string::npos)
    return false;
  char* end = nullptr;
  double d = std::strtod(v.c_str(), &end);
  if (end != v.c_str() + v.size() || !std::isfinite(d) || d < 0 || d > 86400.0 * 365)
    return false;
  out = std::chrono::milliseconds(static_cast<long long>(std::llround(d * 1000.0)));
  return true;
}

} // namespace

config_result parse_config(const std::string& text, const std::string& file,
                           const std::string& dll_dir) {
  config_result r;
  r.value.file = file;
  error_text err{file};
  // Notepad saves UTF-8 with a byte order mark; it is not part of the first line.
  std::istringstream in(text.rfind("\xEF\xBB\xBF", 0) == 0 ? text.substr(3) : text);
  std::string line, section;
  bool saw_address = false;
  unsigned line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    std::string t = trim(line);
    if (t.empty() || t[0] == ';' || t[0] == '#')
      continue;
    if (t[0] == '[') {
      auto close = t.find(']');
      section = trim(t.substr(1, close == std::string::npos ? std::string::npos : close - 1));
      continue;
    }
    if (section != "isapi")
      continue; // other sections belong to the bridge host
    auto eq = t.find('=');
    if (eq == std::string::npos) {
      r.error = err("line " + std::to_string(line_no), "not a 'key = value' line",
                    "write it as key = value or remove it");
      return r;
    }
    std::string key = trim(t.substr(0, eq));
    std::string value = trim(t.substr(eq + 1));
    // Inline comments: " ;" or " #" after the value.
    for (const char* mark : {" ;", "\t;", " #", "\t#"}) {
      auto c = value.find(mark);
      if (c != std::string::npos)
        value = trim(value.substr(0, c));
    }
    config& c = r.value;
    unsigned long n = 0;
    if (key == "mode") {
      if (value == "spawn")
        c.mode = bridge_mode::spawn;
      else if (value == "connect")
        c.mode = bridge_mode::connect;
      else {
        r.error = err(key, "'" + value + "' is not a mode", "use spawn or connect");
        return r;
      }
    } else if (key == "bridge_address") {
      bridge_address parsed;
      std::string problem;
      if (!value.empty() && !parse_bridge_address(value, parsed, problem)) {
        r.error = err(key, problem, "use unix:/path, tcp:127.0.0.1:port or pipe:\\\\.\\pipe\\name");
        return r;
      }
      c.bridge_address = value;
      saw_address = !value.empty();
    } else if (key == "node") {
      if (!value.empty())
        c.node = value;
    } else if (key == "bridge_script") {
      c.bridge_script = join_path(dll_dir, value);
    } else if (key == "threads") {
      if (!parse_count(value, 1024, n)) {
        r.error = err(key, "'" + value + "' is not a thread count",
                      "use 0 (one per CPU) or a number up to 1024");
        return r;
      }
      c.threads = static_cast<unsigned>(n);
    } else if (key == "max_connections") {
      if (!parse_count(value, 100000, n) || n == 0) {
        r.error = err(key, "'" + value + "' is not a connection count",
                      "use a number from 1 to 100000 (default 64)");
        return r;
      }
      c.max_connections = n;
    } else if (key == "max_queued") {
      if (!parse_count(value, 10000000, n)) {
        r.error = err(key, "'" + value + "' is not a queue length",
                      "use a number from 0 to 10000000 (default 1000)");
        return r;
      }
      c.max_queued = n;
    } else if (key == "connect_timeout" || key == "startup_timeout" || key == "drain_timeout" ||
               key == "queue_timeout") {
      std::chrono::milliseconds ms{};
      if (!parse_seconds(value, ms)) {
        r.error = err(key, "'" + value + "' is not a time in seconds",
                      "use seconds, decimals allowed (e.g. 5 or 0.5)");
        return r;
      }
      (key == "connect_timeout"   ? c.connect_timeout
       : key == "startup_timeout" ? c.startup_timeout
       : key == "queue_timeout"   ? c.queue_timeout
                                  : c.drain_timeout) = ms;
    } else if (key == "rapid_fails_per_minute") {
      if (!parse_count(value, 1000, n) || n == 0) {
        r.error =
            err(key, "'" + value + "' is not a count", "use a number from 1 to 1000 (default 5)");
        return r;
      }
      c.rapid_fails_per_minute = static_cast<unsigned>(n);
    } else if (key == "log_file") {
      c.log_file = value;
    } else if (key == "secret_file") {
      c.secret_file = join_path(dll_dir, value);
    } else {
      r.error =
          err(key, "unknown key",
              "remove it or check the spelling (keys: mode, bridge_address, node, "
              "bridge_script, threads, max_connections, max_queued, connect_timeout, "
              "startup_timeout, drain_timeout, queue_timeout, rapid_fails_per_minute, log_file, "
              "secret_file)");
      return r;
    }
  }
  config& c = r.value;
  if (c.log_file.empty())
    c.log_file = "kallithea_isapi.log";
  c.log_file = join_path(dll_dir, c.log_file);
  if (c.mode == bridge_mode::connect) {
    if (!saw_address) {
      r.error = err("bridge_address", "missing in connect mode",
                    "set it to unix:/path, tcp:127.0.0.1:port or pipe:\\\\.\\pipe\\name");
      return r;
    }
    if (c.secret_file.empty()) {
      r.error = err("secret_file", "missing in connect mode",
                    "name the file holding the bridge's KALLITHEA_ISAPI_SECRET");
      return r;
    }
  }
  return r;
}

config_result load_config(const std::string& path, const std::string& dll_dir) {
  std::string text, reason;
  read_failure failure = read_file(path, text, reason);
  if (failure == read_failure::none)
    return parse_config(text, path, dll_dir);
  // Defaults would start something the administrator did not configure and fail later
  // with a message about a key nobody set: say what is wrong with the file instead.
  config_result r = parse_config("", path, dll_dir);
  r.error = path + ": " +
            (failure == read_failure::missing
                 ? "the configuration file is missing (" + reason +
                       "); create it next to the DLL (kallithea-isapi install writes it) or "
                       "point KALLITHEA_ISAPI_INI at it"
                 : "the configuration file cannot be read (" + reason +
                       "); give the application pool's identity read access to it");
  return r;
}

} // namespace kallithea_isapi
