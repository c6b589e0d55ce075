#include "request/error_page.hpp"

#include "supervisor/child_process.hpp"

#include <atomic>

namespace kallithea_isapi {
namespace {

std::string escape_html(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '&':
      out += "&amp;";
      break;
    case '"':
      out += "&quot;";
      break;
    default:
      out += c;
    }
  }
  return out;
}

error_page render(unsigned status, const std::string& detail, unsigned retry_after,
                  const std::string& note, const std::string& id) {
  error_page p;
  p.status = status;
  p.detail = detail;
  p.note = note;
  p.id = id;
  p.retry_after = retry_after;
  const char* reason = status == 500   ? "Internal Server Error"
                       : status == 502 ? "Bad Gateway"
                       : status == 503 ? "Service Unavailable"
                       : status == 431 ? "Request Header Fields Too Large"
                                       : "Error";
  p.status_text = std::to_string(status) + " " + reason;
  p.body = "<!DOCTYPE html>\n<html><head><title>" + p.status_text + "</title></head><body>\n<h1>" +
           p.status_text + "</h1>\n<p>" + escape_html(detail) + "</p>\n" +
           (note.empty() ? std::string() : "<p>" + escape_html(note) + "</p>\n") +
           (id.empty() ? std::string("<p>kallithea-isapi</p>\n")
                       : "<p>kallithea-isapi, error id <code>" + escape_html(id) +
                             "</code> (kallithea_isapi.log names it too)</p>\n") +
           "</body></html>\n";
  p.header_block =
      "Content-Type: text/html; charset=utf-8\r\nContent-Length: " + std::to_string(p.body.size()) +
      "\r\nCache-Control: no-store\r\n";
  if (retry_after > 0)
    p.header_block += "Retry-After: " + std::to_string(retry_after) + "\r\n";
  if (!id.empty())
    p.header_block += "X-Kallithea-Isapi-Error-Id: " + id + "\r\n";
  p.header_block += "\r\n";
  return p;
}

} // namespace

error_page make_error_page(unsigned status, const std::string& detail, unsigned retry_after) {
  return render(status, detail, retry_after, {}, {});
}

error_page add_note(const error_page& page, const std::string& note) {
  return render(page.status, page.detail, page.retry_after, note, page.id);
}

error_page with_id(const error_page& page, const std::string& id) {
  return render(page.status, page.detail, page.retry_after, page.note, id);
}

std::string new_error_id() {
  std::string id = random_hex(6);
  if (!id.empty())
    return id;
  static std::atomic<unsigned long long> sequence{0};
  return "seq-" + std::to_string(++sequence);
}

} // namespace kallithea_isapi
