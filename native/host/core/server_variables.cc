#include "server_variables.h"

#include "text_encoding.h"

#include <utility>

namespace isapi_host {

namespace {

// An IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d in Node; IIS shows a.b.c.d.
std::string plain_address(const std::string& address) {
  const std::string mapped = "::ffff:";
  if (address.size() > mapped.size() && address.compare(0, mapped.size(), mapped) == 0 &&
      address.find('.') != std::string::npos) {
    return address.substr(mapped.size());
  }
  return address;
}

// HTTP_<NAME>: the header name upper-cased with '-' as '_'.
std::string http_name(const std::string& header) {
  std::string name = ascii_upper(header);
  for (auto& c : name) {
    if (c == '-')
      c = '_';
  }
  return name;
}

bool starts_with_icase(const std::string& s, const std::string& prefix) {
  return s.size() >= prefix.size() && ascii_iequals(s.substr(0, prefix.size()), prefix);
}

} // namespace

ServerVariables::ServerVariables(const HostConfig& config, RequestInfo moved)
    : config_(config), info_(std::move(moved)) {
  const RequestInfo& info = info_;
  const std::string& physical = config.physical_path;
  if (physical.find('\\') != std::string::npos || (physical.size() >= 2 && physical[1] == ':')) {
    separator_ = '\\';
  }

  const std::size_t q = info.raw_target.find('?');
  query_ = q == std::string::npos ? "" : info.raw_target.substr(q + 1);
  decoded_path_ = canonical_path(info.raw_target);
  path_ansi_ = utf8_to_ansi(decoded_path_);
  method_ = info.method;
  path_translated_ = translate(decoded_path_);
  path_translated_ansi_ = utf8_to_ansi(path_translated_);
  for (const auto& header : info.headers) {
    if (ascii_iequals(header.first, "Content-Type"))
      content_type_ = header.second;
  }
}

// The extension's thread. Only the variable asked for is computed: an extension reads a
// few of these ~60 names, and building them all cost every request ~150 allocations.
std::optional<ServerVariables::Lookup>
ServerVariables::table_value(const std::string& key, bool unicode, std::string& value) const {
  const RequestInfo& info = info_;
  const auto give = [&](const std::string& ansi, const std::string& text) {
    value = unicode ? utf8_to_utf16le(text) : ansi;
    return Lookup::found;
  };
  const auto same = [&](const std::string& text) { return give(text, text); };
  const auto header = [&](const char* name) {
    std::string found;
    for (const auto& h : info.headers) {
      if (ascii_iequals(h.first, name))
        found = h.second;
    }
    return found;
  };
  const auto site = [&] { return std::to_string(config_.site_id); };

  // A `*` map: URL, SCRIPT_NAME and PATH_INFO are all the decoded full path.
  if (key == "URL" || key == "SCRIPT_NAME" || key == "PATH_INFO")
    return give(path_ansi_, decoded_path_);
  if (key == "PATH_TRANSLATED")
    return give(path_translated_ansi_, path_translated_);
  if (key == "QUERY_STRING")
    return same(query_);
  if (key == "HTTP_URL" || key == "UNENCODED_URL" || key == "CACHE_URL")
    return same(info.raw_target);
  if (key == "REQUEST_METHOD")
    return same(info.method);
  if (key == "APPL_MD_PATH")
    return same("/LM/W3SVC/" + site() + "/ROOT" +
                (config_.virtual_dir == "/" ? "" : config_.virtual_dir));
  if (key == "INSTANCE_ID")
    return same(site());
  if (key == "INSTANCE_META_PATH")
    return same("/LM/W3SVC/" + site());
  if (key == "APPL_PHYSICAL_PATH") {
    std::string appl_physical = config_.physical_path;
    if (appl_physical.empty() || appl_physical.back() != separator_)
      appl_physical += separator_;
    return give(utf8_to_ansi(appl_physical), appl_physical);
  }
  if (key == "APP_POOL_ID")
    return same("DefaultAppPool");
  if (key == "REMOTE_ADDR" || key == "REMOTE_HOST")
    return same(plain_address(info.remote_addr));
  if (key == "REMOTE_PORT")
    return same(std::to_string(info.remote_port));
  if (key == "LOCAL_ADDR")
    return same(plain_address(info.local_addr));
  if (key == "SERVER_NAME") {
    std::string server_name = header("Host");
    if (!server_name.empty() && server_name[0] == '[') {
      server_name = server_name.substr(0, server_name.find(']') + 1);
    } else {
      server_name = server_name.substr(0, server_name.find(':'));
    }
    if (server_name.empty())
      server_name = plain_address(info.local_addr);
    return same(server_name);
  }
  if (key == "SERVER_PORT")
    return same(std::to_string(info.local_port));
  if (key == "SERVER_PROTOCOL" || key == "HTTP_VERSION")
    return same("HTTP/" + info.http_version);
  if (key == "SERVER_SOFTWARE")
    return same("Microsoft-IIS/10.0");
  if (key == "GATEWAY_INTERFACE")
    return same("CGI/1.1");
  if (key == "SERVER_PORT_SECURE")
    return same(info.tls ? "1" : "0");
  if (key == "HTTPS")
    return same(info.tls ? "on" : "off");
  if (key == "HTTPS_KEYSIZE" || key == "HTTPS_SECRETKEYSIZE" || key == "HTTPS_SERVER_ISSUER" ||
      key == "HTTPS_SERVER_SUBJECT") {
    // Known names with nothing to give on a plain connection [inference].
    if (!info.tls)
      return Lookup::no_data;
    if (key == "HTTPS_KEYSIZE")
      return same(std::to_string(info.tls_key_size));
    if (key == "HTTPS_SECRETKEYSIZE")
      return same(std::to_string(info.tls_secret_key_size));
    return same(key == "HTTPS_SERVER_ISSUER" ? info.tls_server_issuer : info.tls_server_subject);
  }
  // No client certificates in this host.
  if (key == "CERT_COOKIE" || key == "CERT_FLAGS" || key == "CERT_ISSUER" ||
      key == "CERT_SERIALNUMBER" || key == "CERT_SUBJECT" || key == "CERT_KEYSIZE" ||
      key == "CERT_SECRETKEYSIZE" || key == "CERT_SERVER_ISSUER" || key == "CERT_SERVER_SUBJECT")
    return same("");
  if (key == "AUTH_TYPE")
    return same(info.auth_type);
  if (key == "AUTH_USER" || key == "LOGON_USER" || key == "REMOTE_USER" ||
      key == "UNMAPPED_REMOTE_USER")
    return same(info.auth_user);
  if (key == "AUTH_PASSWORD")
    return same(info.auth_password);
  if (key == "CONTENT_LENGTH") {
    const std::string length = header("Content-Length");
    return same(length.empty() ? "0" : length);
  }
  if (key == "CONTENT_TYPE")
    return same(content_type_);
  if (key == "ALL_HTTP" || key == "ALL_RAW") {
    if (unicode)
      return Lookup::unknown; // no UNICODE_ form
    for (const auto& h : info.headers) {
      if (key == "ALL_HTTP")
        value += "HTTP_" + http_name(h.first) + ":" + h.second + "\r\n";
      else
        value += h.first + ": " + h.second + "\r\n";
    }
    return Lookup::found;
  }
  return std::nullopt;
}

std::string ServerVariables::translate(const std::string& decoded_path) const {
  std::string rest = decoded_path;
  const std::string& vdir = config_.virtual_dir;
  if (vdir != "/" && starts_with_icase(rest, vdir))
    rest = rest.substr(vdir.size());
  std::string out = config_.physical_path;
  while (!out.empty() && (out.back() == '/' || out.back() == '\\'))
    out.pop_back();
  for (char c : rest)
    out.push_back(c == '/' ? separator_ : c);
  return out;
}

std::string ServerVariables::map_url_to_path(const std::string& url) const {
  return utf8_to_ansi(translate(remove_dot_segments(url)));
}

bool ServerVariables::header_value(const std::string& upper_name, bool by_http_name,
                                   std::string& value) const {
  bool found = false;
  for (const auto& header : info_.headers) {
    const std::string key = by_http_name ? http_name(header.first) : ascii_upper(header.first);
    if (key != upper_name)
      continue;
    if (found)
      value += ",";
    value += header.second;
    found = true;
  }
  return found;
}

ServerVariables::Lookup ServerVariables::lookup(const std::string& name, std::string& value) const {
  value.clear();
  const std::string upper = ascii_upper(name);
  std::string key = upper;
  bool unicode = false;
  const std::string unicode_prefix = "UNICODE_";
  if (upper.compare(0, unicode_prefix.size(), unicode_prefix) == 0) {
    unicode = true;
    key = upper.substr(unicode_prefix.size());
  }

  if (const auto known = table_value(key, unicode, value))
    return *known;
  // Headers: HTTP_<NAME> and HEADER_<Name>; never in UNICODE_ form.
  if (unicode)
    return Lookup::unknown;
  if (key.compare(0, 5, "HTTP_") == 0 && key.size() > 5) {
    return header_value(key.substr(5), true, value) ? Lookup::found : Lookup::unknown;
  }
  if (key.compare(0, 7, "HEADER_") == 0 && key.size() > 7) {
    return header_value(key.substr(7), false, value) ? Lookup::found : Lookup::unknown;
  }
  return Lookup::unknown;
}

} // namespace isapi_host
