// The server variables of one request, computed once from the request and the host's
// configuration the way IIS computes them for a wildcard (`*`) script map at a virtual
// directory (shared/reference/isapi.md sections 5, 8, 9). What the ECB's own fields need is
// computed at construction (on the JavaScript thread); any other variable is computed when
// GetServerVariable asks for it, on the extension's thread. Immutable: any thread may read it.
#ifndef KALLITHEA_ISAPI_HOST_SERVER_VARIABLES_H
#define KALLITHEA_ISAPI_HOST_SERVER_VARIABLES_H

#include "host_config.h"

#include <string>
#include <string_view>

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

  /// Any thread. `name` as the extension passed it (case-insensitive). A UNICODE_ name's
  /// value is UTF-16LE.
  Lookup lookup(std::string_view name, std::string& value) const;

  /// Whether `name` asks for the UTF-16LE form (its terminator is two bytes).
  static bool unicode_name(std::string_view name);

  const std::string& method() const { return method_; }
  const std::string& query_string() const { return query_; }
  const std::string& path_info_ansi() const { return path_ansi_; }
  const std::string& path_translated_ansi() const { return path_translated_ansi_; }
  const std::string& content_type() const { return content_type_; }

  /// The variables of the IIS table (not headers), one per way of computing a value.
  enum class Variable : int;

  /// The physical path a URL maps to (MAP_URL_TO_PATH), UTF-8 in, ANSI out.
  std::string map_url_to_path(const std::string& url) const;

private:
  /// A variable of the IIS table (not a header), the UNICODE_ prefix taken off.
  Lookup table_value(Variable variable, bool unicode, std::string& value) const;
  /// HTTP_<NAME> (`by_http_name`: header names upper-cased with '-' as '_') or
  /// HEADER_<Name>; repeated headers joined with ','.
  bool header_value(std::string_view name, bool by_http_name, std::string& value) const;
  const std::string& header(std::string_view name) const;
  std::string translate(const std::string& decoded_path) const;

  const HostConfig& config_;
  const RequestInfo info_;
  std::string decoded_path_, path_translated_;
  std::string method_, query_, path_ansi_, path_translated_ansi_, content_type_;
  char separator_ = '/';
};

} // namespace isapi_host

#endif
