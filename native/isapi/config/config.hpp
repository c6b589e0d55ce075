// The [isapi] section of kallithea-isapi.ini: how the DLL reaches or starts the bridge host,
// pool sizes and time limits. Parsed once in GetExtensionVersion; every value is checked,
// and a bad file yields an error that names the file, the key and the fix (the DLL then
// answers each request with a 500 page carrying that text instead of failing to load).
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

namespace kallithea_isapi {

enum class bridge_mode { spawn, connect };

struct config {
  std::string file; ///< The ini file this came from ("" when none was found).
  bridge_mode mode = bridge_mode::spawn;
  std::string bridge_address; ///< connect mode: unix:/..., tcp:host:port, pipe:\\.\pipe\x
  std::string node = "node";  ///< spawn: the node executable (PATH lookup when bare)
  std::string bridge_script;  ///< spawn: bin/kallithea-isapi.js
  unsigned threads = 0;       ///< pool threads; 0 = one per CPU
  std::size_t max_connections = 64;
  std::size_t max_queued = 1000;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds startup_timeout{30000};
  std::chrono::milliseconds drain_timeout{30000};
  /// How long a request may wait for a bridge connection (max_queued deep) before it is
  /// answered 503 + Retry-After: a full queue behind a stuck bridge must not hang clients.
  std::chrono::milliseconds queue_timeout{30000};
  unsigned rapid_fails_per_minute = 5;
  std::string log_file = "kallithea_isapi.log"; ///< absolute after load (relative to the DLL)
  std::string secret_file;                      ///< connect mode: file holding the hop secret
};

/// The result of reading the file: a config, or the one error that stops it.
struct config_result {
  config value;
  std::string error; ///< empty on success; else "<file>: [isapi] <key>: <problem>; <fix>"
};

/// Parses ini text. `file` names the file in errors; `dll_dir` resolves relative paths.
config_result parse_config(const std::string& text, const std::string& file,
                           const std::string& dll_dir);

/// Reads `path` (UTF-8, opened with the wide API on Windows) and parses it. A missing or
/// unreadable file is an error naming the file and the OS's reason, never silent defaults.
config_result load_config(const std::string& path, const std::string& dll_dir);

} // namespace kallithea_isapi
