#include "fastcgi/cgi_header.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <string_view>

namespace kallithea_isapi::fastcgi {
namespace {

/// ASCII only, as header names are (no locale call per byte: this runs for every header
/// against every name the parser knows).
char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i]))
      return false;
  return true;
}

std::string_view trim(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t'))
    ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t'))
    --e;
  return s.substr(b, e - b);
}

/// RFC 9110 tchar, looked up in a table built once.
bool is_token_char(char c) {
  static const auto table = [] {
    std::array<bool, 256> t{};
    for (int i = 33; i < 127; ++i)
      t[static_cast<std::size_t>(i)] = std::strchr("()<>@,;:\\\"/[]?={}", i) == nullptr;
    return t;
  }();
  return table[static_cast<unsigned char>(c)];
}

const char* reason_for(unsigned status) {
  switch (status) {
  case 200:
    return "OK";
  case 201:
    return "Created";
  case 204:
    return "No Content";
  case 206:
    return "Partial Content";
  case 301:
    return "Moved Permanently";
  case 302:
    return "Found";
  case 303:
    return "See Other";
  case 304:
    return "Not Modified";
  case 307:
    return "Temporary Redirect";
  case 400:
    return "Bad Request";
  case 401:
    return "Unauthorized";
  case 403:
    return "Forbidden";
  case 404:
    return "Not Found";
  case 500:
    return "Internal Server Error";
  case 502:
    return "Bad Gateway";
  case 503:
    return "Service Unavailable";
  default:
    return "Unknown";
  }
}

} // namespace

header_result cgi_header_parser::feed(const std::uint8_t* data, std::size_t size,
                                      std::size_t& consumed) {
  consumed = 0;
  // The block ends at the first LF that ends an empty line ("\n\n", "\r\n\r\n", or a block
  // that starts with one); the terminator may straddle feeds. Only LFs are looked at, and
  // the bytes are appended once.
  const std::size_t old = block_.size();
  auto at = [&](std::size_t k) { return k < old ? block_[k] : static_cast<char>(data[k - old]); };
  const std::uint8_t* end = data + size;
  for (const std::uint8_t* p = data; p < end;) {
    const auto* lf = static_cast<const std::uint8_t*>(std::memchr(p, '\n', end - p));
    if (!lf)
      break;
    std::size_t n = old + static_cast<std::size_t>(lf - data) + 1; // the block up to this LF
    if (n > max_size_ + 1)
      break; // too big, whatever follows
    bool empty_line = n == 1 || at(n - 2) == '\n' || (n == 2 && at(0) == '\r') ||
                      (n >= 4 && at(n - 2) == '\r' && at(n - 3) == '\n' && at(n - 4) == '\r');
    if (empty_line) {
      consumed = n - old;
      if (old == 0) // the whole block in this feed (the usual case): parsed where it is
        return parse_block(std::string_view(reinterpret_cast<const char*>(data), consumed));
      block_.append(reinterpret_cast<const char*>(data), consumed);
      return parse_block(block_);
    }
    p = lf + 1;
  }
  if (old + size > max_size_) {
    error_ = "bridge sent too big header";
    return header_result::error;
  }
  block_.append(reinterpret_cast<const char*>(data), size);
  consumed = size;
  return header_result::again;
}

header_result cgi_header_parser::parse_block(std::string_view block) {
  std::size_t pos = 0;
  bool have_status = false, have_location = false;
  while (pos < block.size()) {
    std::size_t eol = block.find('\n', pos);
    std::string_view line = block.substr(pos, eol - pos);
    pos = eol + 1;
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);
    if (line.empty())
      break;
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      error_ = "bridge sent a malformed CGI header line";
      return header_result::error;
    }
    std::string_view name = line.substr(0, colon);
    for (char c : name)
      if (!is_token_char(c)) {
        error_ = "bridge sent a malformed CGI header name";
        return header_result::error;
      }
    std::string_view value = trim(line.substr(colon + 1));
    for (char c : value)
      if (c == '\0' || c == '\r' || c == '\n') {
        error_ = "bridge sent a control character in a CGI header";
        return header_result::error;
      }
    if (iequals(name, "Status")) {
      unsigned code = 0;
      std::size_t i = 0;
      while (i < value.size() && i < 3 && std::isdigit(static_cast<unsigned char>(value[i])))
        code = code * 10 + static_cast<unsigned>(value[i++] - '0');
      if (i != 3 || code < 100 || (i < value.size() && value[i] != ' ')) {
        error_ = "bridge sent an invalid Status header";
        return header_result::error;
      }
      head_.status = code;
      std::string_view reason = trim(value.substr(3));
      head_.status_text = std::to_string(code) + " ";
      head_.status_text += reason.empty() ? std::string_view(reason_for(code)) : reason;
      have_status = true;
      continue;
    }
    if (iequals(name, "Transfer-Encoding") || iequals(name, "Connection") ||
        iequals(name, "Keep-Alive") || iequals(name, "Proxy-Connection") ||
        iequals(name, "Upgrade") || iequals(name, "TE") || iequals(name, "Trailer"))
      continue; // hop-by-hop: the DLL frames the body itself
    if (iequals(name, "Content-Length")) {
      if (value.empty() || value.size() > 19 ||
          value.find_first_not_of("0123456789") != std::string_view::npos) {
        error_ = "bridge sent an invalid Content-Length";
        return header_result::error;
      }
      std::uint64_t n = 0; // at most 19 digits: always fits
      std::from_chars(value.data(), value.data() + value.size(), n);
      if (head_.content_length && *head_.content_length != n) {
        error_ = "bridge sent conflicting Content-Length headers";
        return header_result::error;
      }
      if (head_.content_length)
        continue;
      head_.content_length = n;
    }
    if (iequals(name, "Location"))
      have_location = true;
    head_.headers.emplace_back(name, value);
  }
  if (!have_status && have_location) {
    head_.status = 302;
    head_.status_text = "302 Found";
  }
  block_.clear();
  block_.shrink_to_fit();
  return header_result::ok;
}

response_plan plan_response(const cgi_head& head, const std::string& method,
                            const std::string& protocol) {
  response_plan p;
  p.status = head.status_text;
  bool no_body = method == "HEAD" || head.status < 200 || head.status == 204 || head.status == 304;
  // HTTP/2 and later frame streams themselves (IIS does), so only HTTP/1.1 is chunked here;
  // there the end of the stream ends an unframed body, and the connection (shared by other
  // streams) must stay open.
  bool http11 = protocol == "HTTP/1.1";
  bool streams = protocol.rfind("HTTP/2", 0) == 0 || protocol.rfind("HTTP/3", 0) == 0;
  for (const auto& [name, value] : head.headers) {
    p.header_block += name;
    p.header_block += ": ";
    p.header_block += value;
    p.header_block += "\r\n";
  }
  if (no_body) {
    p.framing = body_framing::none;
    p.keep_conn = true;
  } else if (head.content_length) {
    p.framing = body_framing::length;
    p.content_length = *head.content_length;
    p.keep_conn = true;
  } else if (http11) {
    p.framing = body_framing::chunked;
    p.header_block += "Transfer-Encoding: chunked\r\n";
    p.keep_conn = true;
  } else {
    p.framing = body_framing::close;
    p.keep_conn = streams;
  }
  p.header_block += "\r\n";
  return p;
}

std::size_t write_chunk_prefix(char* out, std::size_t n) {
  int len = std::snprintf(out, 18, "%zx\r\n", n);
  return static_cast<std::size_t>(len);
}

} // namespace kallithea_isapi::fastcgi
