// The checked options of one isapi-host instance and the facts of one HTTP request, as
// the JavaScript side hands them over (it validates and defaults them first).
#ifndef KALLITHEA_ISAPI_HOST_HOST_CONFIG_H
#define KALLITHEA_ISAPI_HOST_HOST_CONFIG_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace isapi_host {

struct HostConfig {
  std::string dll;                      ///< path of the extension (.so / .dll)
  std::string virtual_dir;              ///< "/kallithea", or "/" for the site root
  std::string physical_path;            ///< folder the virtual directory maps to
  std::uint32_t site_id = 1;            ///< IIS site id: APPL_MD_PATH /LM/W3SVC/<id>/ROOT...
  std::size_t read_ahead = 48 * 1024;   ///< UploadReadAheadSize: pre-read into lpbData
  std::size_t body_buffer = 256 * 1024; ///< per-request body bytes held before pausing
  std::size_t write_buffer = 64 * 1024; ///< per-request response bytes taken without a JS ack
  unsigned threads = 4;       ///< threads each pool starts with (HttpExtensionProc, completions)
  unsigned max_threads = 256; ///< each pool grows to this many while its threads are blocked
  std::uint32_t block_warn_ms = 10000;   ///< verifier: warn when a host thread is blocked this long
  bool verify = false;                   ///< verifier mode: contract breaches become violations
  std::uint32_t done_timeout_ms = 60000; ///< verifier: PENDING without DONE after this
  /// HttpExtensionProc calls queued on the JavaScript thread wake a pool thread only at
  /// Host::wake_dispatches(), once per turn of the event loop (the addon turns it on).
  bool batch_dispatches = false;
};

/// One request as the Node server received it.
struct RequestInfo {
  std::string method;
  std::string raw_target;   ///< the request-target as sent ("/a/b%2Fc?x=1")
  std::string http_version; ///< "1.1"
  std::vector<std::pair<std::string, std::string>> headers; ///< as sent, in order
  std::string remote_addr;
  std::uint16_t remote_port = 0;
  std::string local_addr;
  std::uint16_t local_port = 0;
  bool client_keep_alive = false;
  bool length_known = true; ///< false for chunked bodies
  std::uint64_t content_length = 0;
  bool tls = false;
  std::uint32_t tls_key_size = 0;
  std::uint32_t tls_secret_key_size = 0;
  std::string tls_server_issuer;
  std::string tls_server_subject;
  std::string auth_type; ///< "" anonymous, "Negotiate", "Basic"
  std::string auth_user; ///< "CORP\\alice" or ""
  std::string auth_password;
};

} // namespace isapi_host

#endif
