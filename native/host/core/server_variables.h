// The server variables of one request, computed once from the request and the host's
// configuration the way IIS computes them for a wildcard (`*`) script map at a virtual
// directory (shared/reference/isapi.md sections 5, 8, 9). What the ECB's own fields need is
// computed at construction (on the JavaScript thread); any other variable is computed when
// GetServerVariable asks for it, on the extension's thread. Immutable: any thread may read it.
#ifndef KALLITHEA_ISAPI_HOST_SERVER_VARIABLES_H
#define KALLITHEA_ISAPI_HOST_SERVER_VARIABLES_H

#include "host_config.h"

#include <optional>
#include <string>

namespace isapi_host {

class ServerVariables {
public:
  /// `config` must outlive this object (the host owns it). Keeps `info`.
  ServerVariables(const HostConfig& config, RequestInfo info);

  /// The request as received.
  const RequestInfo& info() const { return info_; }

  enum class Lookup {
    found,   ///< value holds the bytes (without the NUL)
    unknown, ///< ERROR_INVALID_INDEX
    no_data, ///< ERROR_NO_DATA: a known variable with nothing to give on this request
  };

  /// Any thread. `name` as the extension passed it (case-insensitive).
  Lookup lookup(const std::string& name, std::string& value) const;

  const std::string& method() const { return method_; }
  const std::string& query_string() const { return query_; }
  const std::string& path_info_ansi() const { return path_ansi_; }
  const std::string& path_translated_ansi() const { return path_translated_ansi_; }
  const std::string& content_type() const { return content_type_; }

  /// The physical path a URL maps to (MAP_URL_TO_PATH), UTF-8 in, ANSI out.
  std::string map_url_to_path(const std::string& url) const;

private:
  /// The variables of the IIS table (not headers); nothing when `key` is not one of them.
  std::optional<Lookup> table_value(const std::string& key, bool unicode, std::string& value) const;
  bool header_value(const std::string& upper_name, bool by_http_name, std::string& value) const;
  std::string translate(const std::string& decoded_path) const;

  const HostConfig& config_;
  const RequestInfo info_;
  std::string decoded_path_, path_translated_;
  std::string method_, query_, path_ansi_, path_translated_ansi_, content_type_;
  char separator_ = '/';
};

} // namespace isapi_host

#endif
