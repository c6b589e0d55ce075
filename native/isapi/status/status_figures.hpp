// The DLL's figures for the status page. The bridge serves the page (lib/bridge/status), but
// only the DLL knows its own requests, queue, pool and supervision; so for a request to the
// page's reserved path the DLL adds one more FastCGI param, KALLITHEA_ISAPI_DLL_STATUS, a
// compact JSON object of these figures, and the bridge renders them with its own. Any other
// request carries nothing extra. The param is a server-side value: a client cannot set it
// (request headers arrive as HTTP_* params), and the bridge never forwards params.
#pragma once

#include <cstdint>
#include <string>

namespace kallithea_isapi {

/// The status page's path below the application (lib/bridge/status/status-path.ts says why
/// Kallithea can never serve it). The DLL only looks at the end of the path; the bridge
/// decides exactly, below SCRIPT_NAME.
inline constexpr char status_path[] = "/~kallithea-isapi/status";
inline constexpr char status_param[] = "KALLITHEA_ISAPI_DLL_STATUS";

/// True when the request's path (IIS: the whole URL path, decoded) ends with status_path.
bool is_status_path(const char* path_info);

struct status_figures {
  std::string version;
  std::int64_t uptime_ms = 0;
  std::string mode;                     ///< spawn | connect
  std::uint64_t requests_in_flight = 0; ///< not counting the status request itself
  std::uint64_t requests_queued = 0;    ///< waiting for a bridge connection
  std::uint64_t connections = 0;        ///< pooled FastCGI connections open (idle + in use)
  std::uint64_t idle_connections = 0;
  std::uint64_t max_connections = 0;
  std::uint64_t max_queued = 0;
  std::string bridge_state;          ///< starting | ready | restarting | failed | stopped
  std::uint64_t bridge_restarts = 0; ///< launches after a bridge exited or failed to start
  std::string last_failure;          ///< the supervisor's last failure line; "" = none
  std::int64_t last_failure_unix_ms = 0;
};

/// One line of JSON, no spaces; strings escaped (control characters as \u00XX).
std::string encode_status(const status_figures& f);

} // namespace kallithea_isapi
