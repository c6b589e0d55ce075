#include "server_variables.h"

#include "text_encoding.h"

#include <algorithm>
#include <iterator>
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

char upper_char(char c) {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

// HTTP_<NAME>: the header name upper-cased with '-' as '_'.
char http_name_char(char c) {
  return c == '-' ? '_' : upper_char(c);
}

std::string http_name(const std::string& header) {
  std::string name = header;
  for (auto& c : name)
    c = http_name_char(c);
  return name;
}

bool same_http_name(std::string_view header, std::string_view name) {
  if (header.size() != name.size())
    return false;
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (http_name_char(header[i]) != http_name_char(name[i]) || name[i] == '-')
      return false;
  }
  return true;
}

constexpr std::string_view unicode_prefix = "UNICODE_";

} // namespace

// Every name of the IIS table, upper case, in byte order for a binary search: a chain of
// string compares cost each lookup up to ~60 of them, and the DLL makes ~20 per request.
enum class ServerVariables::Variable : int {
  url, // URL, SCRIPT_NAME and PATH_INFO: under a `*` map, all the decoded full path
  path_translated,
  query_string,
  raw_url, // the target as sent
  request_method,
  appl_md_path,
  instance_id,
  instance_meta_path,
  appl_physical_path,
  app_pool_id,
  remote_addr,
  remote_port,
  local_addr,
  server_name,
  server_port,
  server_protocol,
  server_software,
  gateway_interface,
  server_port_secure,
  https,
  https_keysize,
  https_secret_keysize,
  https_server_issuer,
  https_server_subject,
  client_certificate, // CERT_*: no client certificates in this host
  auth_type,
  auth_user,
  auth_password,
  content_length,
  content_type,
  all_http,
  all_raw,
};

namespace {

using V = ServerVariables::Variable;

struct Named {
  std::string_view name;
  V variable;
};

constexpr Named table[] = {
    {"ALL_HTTP", V::all_http},
    {"ALL_RAW", V::all_raw},
    {"APPL_MD_PATH", V::appl_md_path},
    {"APPL_PHYSICAL_PATH", V::appl_physical_path},
    {"APP_POOL_ID", V::app_pool_id},
    {"AUTH_PASSWORD", V::auth_password},
    {"AUTH_TYPE", V::auth_type},
    {"AUTH_USER", V::auth_user},
    {"CACHE_URL", V::raw_url},
    {"CERT_COOKIE", V::client_certificate},
    {"CERT_FLAGS", V::client_certificate},
    {"CERT_ISSUER", V::client_certificate},
    {"CERT_KEYSIZE", V::client_certificate},
    {"CERT_SECRETKEYSIZE", V::client_certificate},
    {"CERT_SERIALNUMBER", V::client_certificate},
    {"CERT_SERVER_ISSUER", V::client_certificate},
    {"CERT_SERVER_SUBJECT", V::client_certificate},
    {"CERT_SUBJECT", V::client_certificate},
    {"CONTENT_LENGTH", V::content_length},
    {"CONTENT_TYPE", V::content_type},
    {"GATEWAY_INTERFACE", V::gateway_interface},
    {"HTTPS", V::https},
    {"HTTPS_KEYSIZE", V::https_keysize},
    {"HTTPS_SECRETKEYSIZE", V::https_secret_keysize},
    {"HTTPS_SERVER_ISSUER", V::https_server_issuer},
    {"HTTPS_SERVER_SUBJECT", V::https_server_subject},
    {"HTTP_URL", V::raw_url},
    {"HTTP_VERSION", V::server_protocol},
    {"INSTANCE_ID", V::instance_id},
    {"INSTANCE_META_PATH", V::instance_meta_path},
    {"LOCAL_ADDR", V::local_addr},
    {"LOGON_USER", V::auth_user},
    {"PATH_INFO", V::url},
    {"PATH_TRANSLATED", V::path_translated},
    {"QUERY_STRING", V::query_string},
    {"REMOTE_ADDR", V::remote_addr},
    {"REMOTE_HOST", V::remote_addr},
    {"REMOTE_PORT", V::remote_port},
    {"REMOTE_USER", V::auth_user},
    {"REQUEST_METHOD", V::request_method},
    {"SCRIPT_NAME", V::url},
    {"SERVER_NAME", V::server_name},
    {"SERVER_PORT", V::server_port},
    {"SERVER_PORT_SECURE", V::server_port_secure},
    {"SERVER_PROTOCOL", V::server_protocol},
    {"SERVER_SOFTWARE", V::server_software},
    {"UNENCODED_URL", V::raw_url},
    {"UNMAPPED_REMOTE_USER", V::auth_user},
    {"URL", V::url},
};

constexpr bool in_byte_order() {
  for (std::size_t i = 1; i < std::size(table); ++i) {
    if (!(table[i - 1].name < table[i].name))
      return false;
  }
  return true;
}
static_assert(in_byte_order(), "the binary search needs the table sorted");

/// `name` compared with an upper-case table name as if `name` were upper case.
int compare_upper(std::string_view name, std::string_view upper) {
  const std::size_t common = std::min(name.size(), upper.size());
  for (std::size_t i = 0; i < common; ++i) {
    const char c = upper_char(name[i]);
    if (c != upper[i])
      return static_cast<unsigned char>(c) < static_cast<unsigned char>(upper[i]) ? -1 : 1;
  }
  if (name.size() == upper.size())
    return 0;
  return name.size() < upper.size() ? -1 : 1;
}

const Named* find_variable(std::string_view name) {
  const auto end = std::end(table);
  const auto at =
      std::lower_bound(std::begin(table), end, name, [](const Named& entry, std::string_view n) {
        return compare_upper(n, entry.name) > 0;
      });
  return at != end && compare_upper(name, at->name) == 0 ? at : nullptr;
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
  content_type_ = header("Content-Type");
}

const std::string& ServerVariables::header(std::string_view name) const {
  static const std::string none;
  const std::string* found = &none;
  for (const auto& h : info_.headers) {
    if (ascii_iequals(h.first, name))
      found = &h.second;
  }
  return *found;
}

// The extension's thread. Only the variable asked for is computed: an extension reads a
// few of these ~50 names, and building them all cost every request ~150 allocations.
ServerVariables::Lookup ServerVariables::table_value(Variable variable, bool unicode,
                                                     std::string& value) const {
  const RequestInfo& info = info_;
  const auto give = [&](const std::string& ansi, const std::string& text) {
    value = unicode ? utf8_to_utf16le(text) : ansi;
    return Lookup::found;
  };
  const auto same = [&](const std::string& text) { return give(text, text); };
  const auto site = [&] { return std::to_string(config_.site_id); };
  const auto tls_only = [&](const std::string& text) {
    // Known names with nothing to give on a plain connection [inference].
    return info.tls ? same(text) : Lookup::no_data;
  };

  switch (variable) {
  case Variable::url:
    return give(path_ansi_, decoded_path_);
  case Variable::path_translated:
    return give(path_translated_ansi_, path_translated_);
  case Variable::query_string:
    return same(query_);
  case Variable::raw_url:
    return same(info.raw_target);
  case Variable::request_method:
    return same(info.method);
  case Variable::appl_md_path:
    return same("/LM/W3SVC/" + site() + "/ROOT" +
                (config_.virtual_dir == "/" ? "" : config_.virtual_dir));
  case Variable::instance_id:
    return same(site());
  case Variable::instance_meta_path:
    return same("/LM/W3SVC/" + site());
  case Variable::appl_physical_path: {
    std::string appl_physical = config_.physical_path;
    if (appl_physical.empty() || appl_physical.back() != separator_)
      appl_physical += separator_;
    return give(utf8_to_ansi(appl_physical), appl_physical);
  }
  case Variable::app_pool_id:
    return same("DefaultAppPool");
  case Variable::remote_addr:
    return same(plain_address(info.remote_addr));
  case Variable::remote_port:
    return same(std::to_string(info.remote_port));
  case Variable::local_addr:
    return same(plain_address(info.local_addr));
  case Variable::server_name: {
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
  case Variable::server_port:
    return same(std::to_string(info.local_port));
  case Variable::server_protocol:
    return same("HTTP/" + info.http_version);
  case Variable::server_software:
    return same("Microsoft-IIS/10.0");
  case Variable::gateway_interface:
    return same("CGI/1.1");
  case Variable::server_port_secure:
    return same(info.tls ? "1" : "0");
  case Variable::https:
    return same(info.tls ? "on" : "off");
  case Variable::https_keysize:
    return tls_only(std::to_string(info.tls_key_size));
  case Variable::https_secret_keysize:
    return tls_only(std::to_string(info.tls_secret_key_size));
  case Variable::https_server_issuer:
    return tls_only(info.tls_server_issuer);
  case Variable::https_server_subject:
    return tls_only(info.tls_server_subject);
  case Variable::client_certificate:
    return same("");
  case Variable::auth_type:
    return same(info.auth_type);
  case Variable::auth_user:
    return same(info.auth_user);
  case Variable::auth_password:
    return same(info.auth_password);
  case Variable::content_length: {
    const std::string& length = header("Content-Length");
    return same(length.empty() ? "0" : length);
  }
  case Variable::content_type:
    return same(content_type_);
  case Variable::all_http:
  case Variable::all_raw:
    if (unicode)
      return Lookup::unknown; // no UNICODE_ form
    for (const auto& h : info.headers) {
      if (variable == Variable::all_http)
        value += "HTTP_" + http_name(h.first) + ":" + h.second + "\r\n";
      else
        value += h.first + ": " + h.second + "\r\n";
    }
    return Lookup::found;
  }
  return Lookup::unknown;
}

std::string ServerVariables::translate(const std::string& decoded_path) const {
  std::string rest = decoded_path;
  const std::string& vdir = config_.virtual_dir;
  if (vdir != "/" && ascii_istarts_with(rest, vdir))
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

bool ServerVariables::header_value(std::string_view name, bool by_http_name,
                                   std::string& value) const {
  bool found = false;
  for (const auto& header : info_.headers) {
    if (!(by_http_name ? same_http_name(header.first, name) : ascii_iequals(header.first, name)))
      continue;
    if (found)
      value += ",";
    value += header.second;
    found = true;
  }
  return found;
}

bool ServerVariables::unicode_name(std::string_view name) {
  return ascii_istarts_with(name, unicode_prefix);
}

ServerVariables::Lookup ServerVariables::lookup(std::string_view name, std::string& value) const {
  value.clear();
  const bool unicode = unicode_name(name);
  const std::string_view key = unicode ? name.substr(unicode_prefix.size()) : name;
  if (const Named* known = find_variable(key))
    return table_value(known->variable, unicode, value);
  // Headers: HTTP_<NAME> and HEADER_<Name>; never in UNICODE_ form.
  if (unicode)
    return Lookup::unknown;
  const std::string_view http = "HTTP_", header = "HEADER_";
  if (key.size() > http.size() && ascii_istarts_with(key, http))
    return header_value(key.substr(http.size()), true, value) ? Lookup::found : Lookup::unknown;
  if (key.size() > header.size() && ascii_istarts_with(key, header))
    return header_value(key.substr(header.size()), false, value) ? Lookup::found : Lookup::unknown;
  return Lookup::unknown;
}

} // namespace isapi_host
