#include "response_head.h"

#include "text_encoding.h"

#include <cctype>
#include <cstdio>
#include <cstring>

namespace isapi_host {

namespace {

// RFC 9110 tchar.
bool is_token_char(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

// RFC 9110 field-value bytes: visible ASCII, SP, HTAB and obs-text; no CR, LF, NUL or
// other controls.
bool is_field_byte(unsigned char c) {
  return c == '\t' || (c >= 0x20 && c != 0x7F);
}

std::string trim(const std::string& text) {
  std::size_t begin = 0, end = text.size();
  while (begin < end && (text[begin] == ' ' || text[begin] == '\t'))
    ++begin;
  while (end > begin && (text[end - 1] == ' ' || text[end - 1] == '\t' || text[end - 1] == '\r'))
    --end;
  return text.substr(begin, end - begin);
}

std::string printable(const std::string& text) {
  std::string out;
  for (unsigned char c : text.substr(0, 60)) {
    if (c >= 0x20 && c < 0x7F) {
      out.push_back(static_cast<char>(c));
    } else {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "\\x%02X", c);
      out += hex;
    }
  }
  return out;
}

// "200 OK", also "HTTP/1.1 200 OK" and "Status: 200 OK" as mod_isapi tolerates them.
std::string check_status(const std::string& text, ResponseHead& head) {
  std::string rest = trim(text);
  if (rest.empty())
    return ""; // 200 OK
  unsigned& status = head.status;
  if (rest.size() > 5 && ascii_upper(rest.substr(0, 5)) == "HTTP/") {
    const std::size_t space = rest.find(' ');
    rest = space == std::string::npos ? "" : trim(rest.substr(space));
  } else if (ascii_upper(rest.substr(0, 7)) == "STATUS:") {
    rest = trim(rest.substr(7));
  }
  if (rest.size() < 3 || !std::isdigit(static_cast<unsigned char>(rest[0])) ||
      !std::isdigit(static_cast<unsigned char>(rest[1])) ||
      !std::isdigit(static_cast<unsigned char>(rest[2])) || (rest.size() > 3 && rest[3] != ' '))
    return "status '" + printable(text) + "' does not start with a three-digit code";
  status = static_cast<unsigned>((rest[0] - '0') * 100 + (rest[1] - '0') * 10 + (rest[2] - '0'));
  if (status < 100)
    return "status code " + rest.substr(0, 3) + " is outside 100-999";
  for (unsigned char c : rest)
    if (!is_field_byte(c))
      return "status '" + printable(text) + "' holds a control character";
  head.reason = trim(rest.substr(3));
  return "";
}

} // namespace

std::string check_response_head(const std::string& status, const std::string& block,
                                ResponseHead& head) {
  head = ResponseHead{};
  std::string problem = check_status(status, head);
  if (!problem.empty())
    return problem;
  std::size_t end = block.find("\r\n\r\n");
  head.body_offset = end + 4;
  if (end == std::string::npos) {
    end = block.find("\n\n");
    head.body_offset = end + 2;
  }
  if (end == std::string::npos) {
    end = block.size();
    head.body_offset = block.size();
  }
  std::size_t start = 0;
  while (start < end) {
    std::size_t stop = block.find('\n', start);
    if (stop == std::string::npos || stop > end)
      stop = end;
    std::string line = block.substr(start, stop - start);
    start = stop + 1;
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    if (line.empty())
      continue;
    const std::size_t colon = line.find(':');
    if (colon == std::string::npos)
      return "header line '" + printable(line) + "' has no colon";
    const std::string name = trim(line.substr(0, colon));
    const std::string value = trim(line.substr(colon + 1));
    if (name.empty())
      return "header line '" + printable(line) + "' has no name";
    for (unsigned char c : name)
      if (!is_token_char(c))
        return "header name '" + printable(name) + "' is not a token";
    for (unsigned char c : value)
      if (!is_field_byte(c))
        return "header " + name + " has a control character in its value '" + printable(value) +
               "'";
    if (!head.fields.empty())
      head.fields += '\n';
    head.fields += name;
    head.fields += '\n';
    head.fields += value;
    const std::string upper = ascii_upper(name);
    if (upper == "CONTENT-LENGTH") {
      if (value.empty() || value.size() > 19 ||
          value.find_first_not_of("0123456789") != std::string::npos)
        return "Content-Length '" + printable(value) + "' is not a number";
      const std::uint64_t length = std::stoull(value);
      if (head.has_length && length != head.content_length)
        return "two different Content-Length headers";
      head.has_length = true;
      head.content_length = length;
    } else if (upper == "TRANSFER-ENCODING" &&
               ascii_upper(value).find("CHUNKED") != std::string::npos) {
      head.chunked = true;
    }
  }
  return "";
}

} // namespace isapi_host
