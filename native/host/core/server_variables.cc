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

// The extension's thread, once, on the first lookup.
void ServerVariables::build_table() {
  const RequestInfo& info = info_;
  const std::string& physical = config_.physical_path;
  const std::string& decoded = decoded_path_;

  // A `*` map: URL, SCRIPT_NAME and PATH_INFO are all the decoded full path.
  set("URL", path_ansi_, decoded);
  set("SCRIPT_NAME", path_ansi_, decoded);
  set("PATH_INFO", path_ansi_, decoded);
  set("PATH_TRANSLATED", path_translated_ansi_, path_translated_);
  set("QUERY_STRING", query_);
  set("HTTP_URL", info.raw_target);
  set("UNENCODED_URL", info.raw_target);
  set("CACHE_URL", info.raw_target);
  set("REQUEST_METHOD", info.method);

  const std::string vdir = config_.virtual_dir == "/" ? "" : config_.virtual_dir;
  const std::string site = std::to_string(config_.site_id);
  set("APPL_MD_PATH", "/LM/W3SVC/" + site + "/ROOT" + vdir);
  set("INSTANCE_ID", site);
  set("INSTANCE_META_PATH", "/LM/W3SVC/" + site);
  std::string appl_physical = physical;
  if (appl_physical.empty() || appl_physical.back() != separator_)
    appl_physical += separator_;
  set("APPL_PHYSICAL_PATH", utf8_to_ansi(appl_physical), appl_physical);
  set("APP_POOL_ID", "DefaultAppPool");

  const std::string remote = plain_address(info.remote_addr);
  set("REMOTE_ADDR", remote);
  set("REMOTE_HOST", remote);
  set("REMOTE_PORT", std::to_string(info.remote_port));
  set("LOCAL_ADDR", plain_address(info.local_addr));

  std::string host_header;
  for (const auto& header : info.headers) {
    if (ascii_iequals(header.first, "Host"))
      host_header = header.second;
  }
  std::string server_name = host_header;
  if (!server_name.empty() && server_name[0] == '[') {
    server_name = server_name.substr(0, server_name.find(']') + 1);
  } else {
    server_name = server_name.substr(0, server_name.find(':'));
  }
  if (server_name.empty())
    server_name = plain_address(info.local_addr);
  set("SERVER_NAME", server_name);
  set("SERVER_PORT", std::to_string(info.local_port));
  set("SERVER_PROTOCOL", "HTTP/" + info.http_version);
  set("HTTP_VERSION", "HTTP/" + info.http_version);
  set("SERVER_SOFTWARE", "Microsoft-IIS/10.0");
  set("GATEWAY_INTERFACE", "CGI/1.1");
  set("SERVER_PORT_SECURE", info.tls ? "1" : "0");
  set("HTTPS", info.tls ? "on" : "off");
  if (info.tls) {
    set("HTTPS_KEYSIZE", std::to_string(info.tls_key_size));
    set("HTTPS_SECRETKEYSIZE", std::to_string(info.tls_secret_key_size));
    set("HTTPS_SERVER_ISSUER", info.tls_server_issuer);
    set("HTTPS_SERVER_SUBJECT", info.tls_server_subject);
  } else {
    // Known names with nothing to give on a plain connection [inference].
    for (const char* name :
         {"HTTPS_KEYSIZE", "HTTPS_SECRETKEYSIZE", "HTTPS_SERVER_ISSUER", "HTTPS_SERVER_SUBJECT"}) {
      set_unavailable(name);
    }
  }
  // No client certificates in this host.
  for (const char* name :
       {"CERT_COOKIE", "CERT_FLAGS", "CERT_ISSUER", "CERT_SERIALNUMBER", "CERT_SUBJECT",
        "CERT_KEYSIZE", "CERT_SECRETKEYSIZE", "CERT_SERVER_ISSUER", "CERT_SERVER_SUBJECT"}) {
    set(name, "");
  }

  set("AUTH_TYPE", info.auth_type);
  set("AUTH_USER", info.auth_user);
  set("LOGON_USER", info.auth_user);
  set("REMOTE_USER", info.auth_user);
  set("UNMAPPED_REMOTE_USER", info.auth_user);
  set("AUTH_PASSWORD", info.auth_password);

  std::string content_length = "0";
  std::string all_http, all_raw;
  for (const auto& header : info.headers) {
    if (ascii_iequals(header.first, "Content-Length"))
      content_length = header.second;
    all_http += "HTTP_" + http_name(header.first) + ":" + header.second + "\r\n";
    all_raw += header.first + ": " + header.second + "\r\n";
  }
  set("CONTENT_LENGTH", content_length);
  set("CONTENT_TYPE", content_type_);
  set("ALL_HTTP", all_http);
  set("ALL_RAW", all_raw);
  table_["ALL_HTTP"].has_unicode = false;
  table_["ALL_RAW"].has_unicode = false;
}

void ServerVariables::set(const std::string& name, const std::string& ansi,
                          const std::string& unicode) {
  Entry& entry = table_[name];
  entry.ansi = ansi;
  entry.unicode = unicode;
  entry.available = true;
}

void ServerVariables::set_unavailable(const std::string& name) {
  Entry& entry = table_[name];
  entry.available = false;
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
  // Built once, by whichever thread asks first; the others wait for it.
  std::call_once(built_, [this] { const_cast<ServerVariables*>(this)->build_table(); });
  value.clear();
  const std::string upper = ascii_upper(name);
  std::string key = upper;
  bool unicode = false;
  const std::string unicode_prefix = "UNICODE_";
  if (upper.compare(0, unicode_prefix.size(), unicode_prefix) == 0) {
    unicode = true;
    key = upper.substr(unicode_prefix.size());
  }

  const auto it = table_.find(key);
  if (it != table_.end()) {
    if (unicode && !it->second.has_unicode)
      return Lookup::unknown;
    if (!it->second.available)
      return Lookup::no_data;
    value = unicode ? utf8_to_utf16le(it->second.unicode) : it->second.ansi;
    return Lookup::found;
  }
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
