// libFuzzer target for the DLL's CGI header parser (fastcgi/cgi_header.*): the `Status:`
// and header lines at the start of the bridge's STDOUT, and the framing decided from them.
// Beyond not crashing, it checks on every input that:
// - `consumed` never exceeds what was fed, and a finished block ends in its blank line;
// - the block is capped: no more than max_size bytes are held before an answer;
// - a parsed head is safe to hand to IIS: a three-digit status, header names that are
//   tokens, values without CR, LF or NUL, no Status or hop-by-hop header, and a header
//   block that ends once, with the blank line;
// - the result does not depend on how the bytes arrive: whole, split in two at every byte
//   (8 spread points for long inputs) and one byte at a time (up to 256 bytes) agree.
#include "fastcgi/cgi_header.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

namespace kf = kallithea_isapi::fastcgi;

constexpr std::size_t max_size = 512; // small, so inputs reach the limit

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "cgi_header_fuzz: invariant broken: %s\n", what);
    std::abort();
  }
}

bool is_hop_by_hop(const std::string& name) {
  for (const char* h : {"transfer-encoding", "connection", "keep-alive", "proxy-connection",
                        "upgrade", "te", "trailer", "status"}) {
    if (name.size() == std::strlen(h) &&
        std::equal(name.begin(), name.end(), h,
                   [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; }))
      return true;
  }
  return false;
}

void check_head(const kf::cgi_head& head) {
  check(head.status >= 100 && head.status <= 999, "status out of range");
  check(head.status_text.compare(0, 3, std::to_string(head.status)) == 0,
        "status text does not start with the status");
  for (const auto& [name, value] : head.headers) {
    check(!name.empty(), "empty header name");
    for (char c : name)
      check(c > 32 && c < 127 && c != ':', "header name is not a token");
    check(value.find_first_of(std::string("\r\n\0", 3)) == std::string::npos,
          "CR, LF or NUL in a header value");
    check(!is_hop_by_hop(name), "Status or a hop-by-hop header passed through");
  }
  for (const char* method : {"GET", "HEAD"}) {
    for (const char* protocol : {"HTTP/1.1", "HTTP/1.0", "HTTP/2"}) {
      kf::response_plan plan = kf::plan_response(head, method, protocol);
      const std::string& block = plan.header_block;
      check(block.size() >= 2 && block.compare(block.size() - 2, 2, "\r\n") == 0,
            "header block does not end with CRLF");
      check(block.find("\r\n\r\n") == block.size() - 4 || block == "\r\n",
            "header block ends before its end");
      check(plan.status.find_first_of(std::string("\r\n\0", 3)) == std::string::npos,
            "CR, LF or NUL in the status line");
      if (std::strcmp(method, "HEAD") == 0)
        check(plan.framing == kf::body_framing::none, "a body planned for HEAD");
    }
  }
}

/// Feeds `data` in chunks ending at `cuts`; returns the outcome as text. The head's own
/// checks run on the first feeding only (`first`): the others must only agree with it.
std::string outcome(const std::uint8_t* data, std::size_t size,
                    const std::vector<std::size_t>& cuts, bool first = false) {
  kf::cgi_header_parser parser(max_size);
  std::size_t from = 0;
  for (std::size_t cut : cuts) {
    std::size_t consumed = 0;
    kf::header_result r = parser.feed(data + from, cut - from, consumed);
    check(consumed <= cut - from, "consumed more than fed");
    if (r == kf::header_result::error)
      return std::string("error: ") + parser.error();
    if (r == kf::header_result::ok) {
      std::size_t end = from + consumed;
      check(end > 0 && data[end - 1] == '\n', "block did not end at a line end");
      check(end <= max_size + 1, "block longer than the limit");
      if (first)
        check_head(parser.head());
      std::string text = "ok at " + std::to_string(end) + ": " + parser.head().status_text;
      for (const auto& [name, value] : parser.head().headers)
        text += "\n" + name + ": " + value;
      return text;
    }
    check(consumed == cut - from, "again without taking every byte");
    from = cut;
  }
  check(size <= max_size, "more than max_size held without an answer");
  return "again";
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::uint8_t> input(data, data + size); // exact size: ASan sees overreads
  const std::uint8_t* in = input.data();
  const std::string whole = outcome(in, size, {size}, true);
  // Every split point of short inputs; for longer ones 8 spread points, shifted by the
  // input's first bytes so that over many inputs every offset gets its turn (checking all
  // of them made the run ten times slower, and the fuzzer's speed is its reach).
  std::size_t step = size <= 32 ? 1 : size / 8;
  std::size_t shift = size <= 32 ? 0 : (std::size_t{in[0]} << 8 | in[1]) % step;
  for (std::size_t cut = shift; cut <= size; cut += step)
    check(outcome(in, size, {cut, size}) == whole, "a split changed the result");
  if (size == 0 || size > 256)
    return 0;
  std::vector<std::size_t> bytewise;
  for (std::size_t i = 1; i <= size; ++i)
    bytewise.push_back(i);
  check(outcome(in, size, bytewise) == whole, "byte-by-byte feeding changed the result");
  return 0;
}
