// The resumable FastCGI record parser: every split point, padding, END_REQUEST, errors.
#include "fastcgi/parser.hpp"
#include "fastcgi/record.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace kallithea_isapi::fastcgi;

namespace {

std::vector<std::uint8_t> record(std::uint8_t type, const std::string& content,
                                 std::uint8_t padding = 0, std::uint16_t id = 1) {
  // Sized once: GCC 12 warns (-Warray-bounds, a false positive) on insert into an 8-byte vector.
  std::vector<std::uint8_t> r;
  r.reserve(8 + content.size() + padding);
  r.resize(8);
  write_header(r.data(), type, id, content.size());
  r[6] = padding;
  r.insert(r.end(), content.begin(), content.end());
  r.insert(r.end(), padding, 0xEE);
  return r;
}

std::vector<std::uint8_t> end_record(std::uint32_t app, std::uint8_t proto) {
  std::string body = {static_cast<char>(app >> 24),
                      static_cast<char>(app >> 16),
                      static_cast<char>(app >> 8),
                      static_cast<char>(app),
                      static_cast<char>(proto),
                      0,
                      0,
                      0};
  return record(end_request, body);
}

struct collected {
  std::string out, err;
  int stdout_ends = 0;
  bool ended = false;
  std::uint32_t app_status = 0;
};

/// Feeds `bytes` in pieces of `step` bytes and gathers what comes out.
parse_result feed(record_parser& p, const std::vector<std::uint8_t>& bytes, std::size_t step,
                  collected& c) {
  for (std::size_t off = 0; off < bytes.size(); off += step) {
    const std::uint8_t* pos = bytes.data() + off;
    const std::uint8_t* end = bytes.data() + std::min(bytes.size(), off + step);
    record_piece piece;
    for (;;) {
      parse_result r = p.parse(pos, end, piece);
      if (r != parse_result::ok) {
        if (r == parse_result::error)
          return r;
        break;
      }
      if (piece.type == stdout_) {
        c.out.append(reinterpret_cast<const char*>(piece.data), piece.size);
        c.stdout_ends += piece.record_end;
      } else if (piece.type == stderr_) {
        c.err.append(reinterpret_cast<const char*>(piece.data), piece.size);
      } else if (piece.type == end_request && piece.record_end) {
        c.ended = true;
        c.app_status = piece.app_status;
      }
    }
  }
  return parse_result::again;
}

} // namespace

TEST(record_parser, resumes_at_every_split_point) {
  std::vector<std::uint8_t> stream;
  for (auto& r : {record(stdout_, "Status: 200 OK\r\n\r\nhello", 3), record(stderr_, "oops\n"),
                  record(stdout_, " world", 7), record(stdout_, ""), end_record(7, 0)})
    stream.insert(stream.end(), r.begin(), r.end());
  for (std::size_t step = 1; step <= stream.size(); ++step) {
    record_parser p;
    collected c;
    ASSERT_EQ(feed(p, stream, step, c), parse_result::again) << "step " << step;
    EXPECT_EQ(c.out, "Status: 200 OK\r\n\r\nhello world") << "step " << step;
    EXPECT_EQ(c.err, "oops\n");
    EXPECT_EQ(c.stdout_ends, 3);
    EXPECT_TRUE(c.ended);
    EXPECT_EQ(c.app_status, 7u);
    EXPECT_TRUE(p.at_record_boundary());
  }
}

TEST(record_parser, rejects_a_wrong_version) {
  record_parser p;
  collected c;
  auto r = record(stdout_, "x");
  r[0] = 2;
  EXPECT_EQ(feed(p, r, r.size(), c), parse_result::error);
  EXPECT_STREQ(p.error(), "bridge sent unsupported FastCGI protocol version");
}

TEST(record_parser, rejects_unexpected_types_and_ids) {
  {
    record_parser p;
    collected c;
    EXPECT_EQ(feed(p, record(params, "x"), 16, c), parse_result::error);
    EXPECT_STREQ(p.error(), "bridge sent unexpected FastCGI record type");
  }
  {
    record_parser p;
    collected c;
    EXPECT_EQ(feed(p, record(stdout_, "x", 0, 2), 16, c), parse_result::error);
    EXPECT_STREQ(p.error(), "bridge sent a FastCGI record for an unknown request id");
  }
  {
    record_parser p;
    collected c;
    EXPECT_EQ(feed(p, record(end_request, "1234"), 16, c), parse_result::error);
  }
}

TEST(record_parser, a_partial_record_is_not_a_boundary) {
  record_parser p;
  collected c;
  auto r = record(stdout_, "abcdef");
  r.resize(10);
  feed(p, r, r.size(), c);
  EXPECT_FALSE(p.at_record_boundary());
}
