#include "text_encoding.h"

#include <gtest/gtest.h>

namespace isapi_host {
namespace {

TEST(TextEncoding, PercentDecodeKeepsMalformedEscapes) {
  EXPECT_EQ(percent_decode("/a%20b%2Fc"), "/a b/c");
  EXPECT_EQ(percent_decode("/bad%zz%4"), "/bad%zz%4");
}

TEST(TextEncoding, RemovesDotSegments) {
  EXPECT_EQ(remove_dot_segments("/a/./b/../c"), "/a/c");
  EXPECT_EQ(remove_dot_segments("/a/.."), "/");
  EXPECT_EQ(remove_dot_segments("/../../x"), "/x");
  EXPECT_EQ(remove_dot_segments("/a/b/."), "/a/b/");
}

TEST(TextEncoding, CanonicalPathDecodesThenRemovesDots) {
  EXPECT_EQ(canonical_path("/kallithea/../other/x?q=/.."), "/other/x");
  EXPECT_EQ(canonical_path("/kallithea/%2e%2e/other"), "/other");
  EXPECT_EQ(canonical_path("/k/a%2Fb"), "/k/a/b");
}

TEST(TextEncoding, VirtualDirGateIsCaseInsensitiveOnWholeSegments) {
  EXPECT_TRUE(inside_virtual_dir("/kallithea", "/kallithea"));
  EXPECT_TRUE(inside_virtual_dir("/KALLITHEA/x", "/kallithea"));
  EXPECT_FALSE(inside_virtual_dir("/kallitheax", "/kallithea"));
  EXPECT_FALSE(inside_virtual_dir("/other/x", "/kallithea"));
  EXPECT_TRUE(inside_virtual_dir("/anything", "/"));
}

TEST(TextEncoding, AnsiIsWindows1252WithQuestionMarks) {
  EXPECT_EQ(utf8_to_ansi("caf\xC3\xA9"), "caf\xE9");
  EXPECT_EQ(utf8_to_ansi("\xE2\x82\xAC"), "\x80"); // the euro sign
  EXPECT_EQ(utf8_to_ansi("\xE4\xB8\xAD"), "?");    // not in 1252
  EXPECT_EQ(utf8_to_ansi("\xE9"), "\xE9");         // not UTF-8: taken as 1252
}

TEST(TextEncoding, Utf16leWithSurrogatesAndReplacement) {
  EXPECT_EQ(utf8_to_utf16le("A"), std::string("A\0", 2));
  EXPECT_EQ(utf8_to_utf16le("\xF0\x9F\x98\x80"), std::string("\x3D\xD8\x00\xDE", 4));
  EXPECT_EQ(utf8_to_utf16le("\xFF"), std::string("\xFD\xFF", 2));
}

TEST(TextEncoding, HexAndCase) {
  EXPECT_EQ(hex_value('a'), 10);
  EXPECT_EQ(hex_value('F'), 15);
  EXPECT_EQ(hex_value('g'), -1);
  EXPECT_TRUE(ascii_iequals("Content-Type", "CONTENT-TYPE"));
}

} // namespace
} // namespace isapi_host
