// PARAMS encoding: exact size, lengths of 1 and 4 bytes, records split at 65535, limits,
// values read in place, and the framing done in place or copied.
#include "fastcgi/params.hpp"
#include "fastcgi/record.hpp"

#include <gtest/gtest.h>

#include <cstring>

using namespace kallithea_isapi::fastcgi;

namespace {

/// Splits the encoded start into records and returns the concatenated PARAMS stream.
std::vector<std::uint8_t> params_content(const std::vector<std::uint8_t>& b, int& records,
                                         bool& saw_empty_stdin) {
  EXPECT_GE(b.size(), 16u);
  std::vector<std::uint8_t> s;
  std::size_t pos = 16; // after BEGIN_REQUEST
  records = 0;
  saw_empty_stdin = false;
  while (pos < b.size()) {
    std::size_t len = (std::size_t{b[pos + 4]} << 8) | b[pos + 5];
    if (b[pos + 1] == params) {
      ++records;
      s.insert(s.end(), b.begin() + static_cast<long>(pos + 8),
               b.begin() + static_cast<long>(pos + 8 + len));
    } else if (b[pos + 1] == stdin_ && len == 0) {
      saw_empty_stdin = true;
    }
    pos += 8 + len;
  }
  EXPECT_EQ(pos, b.size());
  return s;
}

struct encoded {
  std::vector<std::uint8_t> bytes;
  params_error error = params_error::none;
  std::string offending_name;
};

/// The request driver's way: pairs into a params_stream, then framed unless refused.
encoded encode(const param_list& in, bool close_stdin, const params_limits& limits = {}) {
  params_stream pairs(limits);
  for (const auto& [name, value] : in)
    pairs.add(name, value);
  encoded e;
  e.error = pairs.error();
  e.offending_name = pairs.offending_name();
  if (e.error == params_error::none) {
    kallithea_isapi::byte_buffer spill;
    byte_range r = pairs.frame(close_stdin, spill);
    e.bytes.assign(r.data, r.data + r.size);
  }
  return e;
}

TEST(params, begin_request_asks_to_keep_the_connection) {
  auto e = encode({{"A", "b"}}, false);
  ASSERT_EQ(e.error, params_error::none);
  EXPECT_EQ(e.bytes[0], 1);
  EXPECT_EQ(e.bytes[1], begin_request);
  EXPECT_EQ(e.bytes[9], responder_role);
  EXPECT_EQ(e.bytes[10], keep_conn_flag);
}

TEST(params, round_trips_short_and_long_values) {
  param_list in = {
      {"SHORT", "x"}, {"LONG", std::string(200, 'v')}, {"EMPTY", ""}, {std::string(130, 'N'), "n"}};
  auto e = encode(in, true);
  ASSERT_EQ(e.error, params_error::none);
  int records = 0;
  bool empty_stdin = false;
  auto s = params_content(e.bytes, records, empty_stdin);
  param_list out;
  ASSERT_TRUE(decode_params(s.data(), s.size(), out));
  EXPECT_EQ(out, in);
  EXPECT_EQ(records, 2); // one with content, the empty one
  EXPECT_TRUE(empty_stdin);
}

TEST(params, a_stream_over_65535_bytes_spans_records) {
  param_list in = {{"ALL_RAW", std::string(200000, 'r')}, {"B", "c"}};
  auto e = encode(in, false);
  ASSERT_EQ(e.error, params_error::none);
  int records = 0;
  bool empty_stdin = true;
  auto s = params_content(e.bytes, records, empty_stdin);
  EXPECT_EQ(records, 5); // 4 with content + the empty one
  EXPECT_FALSE(empty_stdin);
  param_list out;
  ASSERT_TRUE(decode_params(s.data(), s.size(), out));
  EXPECT_EQ(out, in);
}

TEST(params, refuses_values_over_the_limit_by_name) {
  params_limits limits;
  limits.max_value = 100;
  auto e = encode({{"OK", "x"}, {"ALL_RAW", std::string(101, 'x')}}, false, limits);
  EXPECT_EQ(e.error, params_error::value_too_large);
  EXPECT_EQ(e.offending_name, "ALL_RAW");
  EXPECT_TRUE(e.bytes.empty());
  limits.max_value = 1000;
  limits.max_total = 150;
  e = encode({{"A", std::string(100, 'x')}, {"B", std::string(100, 'x')}}, false, limits);
  EXPECT_EQ(e.error, params_error::params_too_large);
  EXPECT_EQ(e.offending_name, "B");
}

/// The opening bytes of `pairs` as frame() gives them.
std::vector<std::uint8_t> framed(params_stream& pairs, bool close_stdin = false) {
  kallithea_isapi::byte_buffer spill;
  byte_range r = pairs.frame(close_stdin, spill);
  return {r.data, r.data + r.size};
}

param_list decoded(const std::vector<std::uint8_t>& bytes) {
  int records = 0;
  bool empty_stdin = false;
  auto s = params_content(bytes, records, empty_stdin);
  param_list out;
  EXPECT_TRUE(decode_params(s.data(), s.size(), out));
  return out;
}

TEST(params, a_pair_added_after_a_mark_goes_with_one_encoding_only) {
  params_stream pairs;
  pairs.add("A", "b");
  std::size_t mark = pairs.mark();
  pairs.add("SECRET", "s");
  EXPECT_EQ(decoded(framed(pairs)), (param_list{{"A", "b"}, {"SECRET", "s"}}));
  pairs.rewind(mark);
  EXPECT_EQ(decoded(framed(pairs)), (param_list{{"A", "b"}}));
  pairs.add("SECRET", "t"); // after a frame: the closing records do not stay in the stream
  EXPECT_EQ(decoded(framed(pairs, true)), (param_list{{"A", "b"}, {"SECRET", "t"}}));
}

TEST(params, values_read_in_place_keep_their_size_whatever_the_room) {
  // A short value gets a 1-byte length (the pair is moved up), a long one 4 bytes; the room
  // asked for is never part of the stream.
  params_stream pairs;
  std::string long_value(300, 'L');
  char* p = pairs.open_value("SHORT", 1024);
  ASSERT_NE(p, nullptr);
  std::memcpy(p, "abc", 3);
  EXPECT_EQ(pairs.close_value(3), "abc");
  p = pairs.open_value("LONG", 4096);
  std::memcpy(p, long_value.data(), long_value.size());
  EXPECT_EQ(pairs.close_value(long_value.size()), long_value);
  p = pairs.open_value("GONE", 1024); // e.g. the host did not have it
  std::memset(p, 'x', 1024);
  pairs.drop_value();
  pairs.add("LAST", "");
  EXPECT_EQ(pairs.pairs().size,
            pair_size("SHORT", "abc") + pair_size("LONG", long_value) + pair_size("LAST", ""));
  EXPECT_EQ(decoded(framed(pairs)),
            (param_list{{"SHORT", "abc"}, {"LONG", long_value}, {"LAST", ""}}));
}

TEST(params, a_value_read_in_place_over_the_limit_refuses_the_stream_by_name) {
  params_limits limits;
  limits.max_value = 100;
  params_stream pairs(limits);
  pairs.add("A", "b");
  char* p = pairs.open_value("ALL_RAW", 200);
  std::memset(p, 'r', 101);
  EXPECT_TRUE(pairs.close_value(101).empty());
  EXPECT_EQ(pairs.error(), params_error::value_too_large);
  EXPECT_EQ(pairs.offending_name(), "ALL_RAW");
  EXPECT_EQ(pairs.open_value("B", 10), nullptr); // refused whole
  EXPECT_EQ(pairs.pairs().size, pair_size("A", "b"));
}

TEST(params, a_big_stream_is_framed_in_a_copy_and_a_small_one_where_it_is) {
  params_stream pairs;
  pairs.add("A", "b");
  kallithea_isapi::byte_buffer spill;
  byte_range small = pairs.frame(false, spill);
  EXPECT_TRUE(spill.empty());
  EXPECT_EQ(small.data + 16 + 8, pairs.pairs().data); // no copy
  pairs.add("ALL_RAW", std::string(70000, 'r'));
  byte_range big = pairs.frame(false, spill);
  EXPECT_EQ(big.data, spill.data());
}

} // namespace
