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

TEST(TextEncoding, CanonicalPathTakesRawBytesAsTheirEscapes) {
  EXPECT_EQ(canonical_path("/k/r\xC3\xA9po?x=\xC3\xA9"), "/k/r\xC3\xA9po");
  EXPECT_EQ(canonical_path("/k/r\xC3\xA9po"), canonical_path("/k/r%C3%A9po"));
  EXPECT_EQ(canonical_path("/k/r\xC3%A9po"), "/k/r\xC3\xA9po");
}

TEST(TextEncoding, CanonicalPathNotUtf8IsReadWhollyAsAnsi) {
  // KB 820129: UTF-8 first (FavorUTF8=1), then the ANSI code page (EnableNonUTF8=1); the
  // valid UTF-8 pair in a path that is not UTF-8 as a whole is read as 1252 too.
  EXPECT_EQ(canonical_path("/k/caf\xE9"), "/k/caf\xC3\xA9");
  EXPECT_EQ(canonical_path("/k/%E9-\xC3\xA9"), "/k/\xC3\xA9-\xC3\x83\xC2\xA9");
  EXPECT_EQ(canonical_path("/k/\x80\x81"), "/k/\xE2\x82\xAC\xC2\x81");
  EXPECT_FALSE(is_utf8("\xC0\xAF"));     // overlong '/'
  EXPECT_FALSE(is_utf8("\xED\xA0\x80")); // a surrogate
  EXPECT_TRUE(is_utf8("\xF0\x9F\x98\x80"));
}

TEST(TextEncoding, AnsiRoundTripsItsUnassignedBytes) {
  EXPECT_EQ(utf8_to_ansi(ansi_to_utf8("\x81\x8D\x8F\x90\x9D\x80\xFF")),
            "\x81\x8D\x8F\x90\x9D\x80\xFF");
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
