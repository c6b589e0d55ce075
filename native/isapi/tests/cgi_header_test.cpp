// The CGI header block and the framing the DLL chooses for the client.
#include "fastcgi/cgi_header.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace kallithea_isapi::fastcgi;

namespace {

header_result feed_all(cgi_header_parser& p, const std::string& s, std::size_t step,
                       std::size_t& body_at) {
  body_at = 0;
  for (std::size_t off = 0; off < s.size(); off += step) {
    std::size_t n = std::min(step, s.size() - off), used = 0;
    auto r = p.feed(reinterpret_cast<const std::uint8_t*>(s.data()) + off, n, used);
    if (r != header_result::again) {
      body_at = off + used;
      return r;
    }
  }
  return header_result::again;
}

} // namespace

TEST(cgi_header, parses_status_headers_and_finds_the_body_at_any_split) {
  std::string s = "Status: 404 Not Here\r\nContent-Type: text/plain\r\nX-A: b\r\n\r\nbody";
  for (std::size_t step = 1; step < s.size(); ++step) {
    cgi_header_parser p;
    std::size_t body_at = 0;
    ASSERT_EQ(feed_all(p, s, step, body_at), header_result::ok);
    EXPECT_EQ(s.substr(body_at), "body");
    EXPECT_EQ(p.head().status, 404u);
    EXPECT_EQ(p.head().status_text, "404 Not Here");
    ASSERT_EQ(p.head().headers.size(), 2u);
  }
}

TEST(cgi_header, accepts_bare_lf_and_defaults) {
  cgi_header_parser p;
  std::size_t body_at = 0;
  ASSERT_EQ(feed_all(p, "Location: /x\n\n", 100, body_at), header_result::ok);
  EXPECT_EQ(p.head().status, 302u);
}

TEST(cgi_header, refuses_too_big_and_malformed_headers) {
  cgi_header_parser small(32);
  std::size_t body_at = 0;
  EXPECT_EQ(feed_all(small, "X-Long: " + std::string(100, 'a') + "\r\n\r\n", 7, body_at),
            header_result::error);
  EXPECT_STREQ(small.error(), "bridge sent too big header");
  cgi_header_parser bad;
  EXPECT_EQ(feed_all(bad, "no colon here\r\n\r\n", 100, body_at), header_result::error);
  cgi_header_parser bad_status;
  EXPECT_EQ(feed_all(bad_status, "Status: abc\r\n\r\n", 100, body_at), header_result::error);
  cgi_header_parser bad_length;
  EXPECT_EQ(feed_all(bad_length, "Content-Length: 1x\r\n\r\n", 100, body_at), header_result::error);
}

TEST(cgi_header, the_block_ends_at_the_first_empty_line_whatever_the_split) {
  // "\n\r\n" is not a terminator (though the CRLF line still ends the parsed headers); an
  // empty first line ends the block at once; a block of the size limit is taken, two bytes
  // more are not.
  struct case_ {
    std::string in;
    header_result result;
    std::size_t body_at;
  };
  const std::string at_limit = "X: " + std::string(32 - 3 - 2, 'a') + "\n\n"; // 32 bytes
  const case_ cases[] = {
      {"X: a\n\r\nY: b\r\n\r\nbody", header_result::ok, 15},
      {"\r\nbody", header_result::ok, 2},
      {"\nbody", header_result::ok, 1},
      {"X: a\r\n\r\n\r\n", header_result::ok, 8},
      {at_limit + "body", header_result::ok, 32},
      {"X: " + std::string(34 - 3 - 2, 'a') + "\n\n", header_result::error, 0},
  };
  for (const auto& c : cases)
    for (std::size_t step = 1; step <= c.in.size(); ++step) {
      cgi_header_parser p(32);
      std::size_t body_at = 0;
      EXPECT_EQ(feed_all(p, c.in, step, body_at), c.result) << c.in << " step " << step;
      if (c.result == header_result::ok) {
        EXPECT_EQ(body_at, c.body_at) << c.in << " step " << step;
      }
    }
}

TEST(cgi_header, drops_hop_by_hop_headers) {
  cgi_header_parser p;
  std::size_t body_at = 0;
  ASSERT_EQ(
      feed_all(p, "Transfer-Encoding: chunked\r\nConnection: close\r\nA: b\r\n\r\n", 100, body_at),
      header_result::ok);
  ASSERT_EQ(p.head().headers.size(), 1u);
  EXPECT_EQ(p.head().headers[0].first, "A");
}

TEST(framing, chunks_for_http11_without_length) {
  cgi_head h;
  auto plan = plan_response(h, "GET", "HTTP/1.1");
  EXPECT_EQ(plan.framing, body_framing::chunked);
  EXPECT_TRUE(plan.keep_conn);
  EXPECT_NE(plan.header_block.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
  EXPECT_EQ(plan.header_block.substr(plan.header_block.size() - 4), "\r\n\r\n");
}

TEST(framing, closes_for_http10_without_length) {
  cgi_head h;
  auto plan = plan_response(h, "GET", "HTTP/1.0");
  EXPECT_EQ(plan.framing, body_framing::close);
  EXPECT_FALSE(plan.keep_conn);
  EXPECT_EQ(plan.header_block.find("Transfer-Encoding"), std::string::npos);
}

TEST(framing, keeps_content_length_and_never_chunks_bodiless_responses) {
  cgi_head h;
  h.content_length = 5;
  h.headers.push_back({"Content-Length", "5"});
  EXPECT_EQ(plan_response(h, "GET", "HTTP/1.1").framing, body_framing::length);
  cgi_head none;
  EXPECT_EQ(plan_response(none, "HEAD", "HTTP/1.1").framing, body_framing::none);
  none.status = 304;
  auto plan = plan_response(none, "GET", "HTTP/1.1");
  EXPECT_EQ(plan.framing, body_framing::none);
  EXPECT_EQ(plan.header_block.find("Transfer-Encoding"), std::string::npos);
  none.status = 204;
  EXPECT_EQ(plan_response(none, "GET", "HTTP/1.1").framing, body_framing::none);
}

TEST(framing, chunk_prefix_is_hex) {
  char buf[18];
  EXPECT_EQ(std::string(buf, write_chunk_prefix(buf, 65536)), "10000\r\n");
  EXPECT_EQ(std::string(buf, write_chunk_prefix(buf, 1)), "1\r\n");
}

TEST(framing, http2_without_length_keeps_the_connection_and_never_chunks) {
  cgi_head h;
  for (const char* protocol : {"HTTP/2", "HTTP/2.0", "HTTP/3"}) {
    auto plan = plan_response(h, "GET", protocol);
    EXPECT_EQ(plan.framing, body_framing::close) << protocol;
    EXPECT_TRUE(plan.keep_conn) << protocol;
    EXPECT_EQ(plan.header_block.find("Transfer-Encoding"), std::string::npos) << protocol;
  }
}
