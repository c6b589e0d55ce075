#include "chunk_parser.h"

#include <gtest/gtest.h>

#include <string>

namespace isapi_host {
namespace {

struct Fed {
  ChunkParser::Result result;
  std::string payload;
};

Fed feed(ChunkParser& parser, const std::string& bytes) {
  std::vector<std::uint8_t> out;
  const auto result =
      parser.feed(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), out);
  return Fed{result, std::string(out.begin(), out.end())};
}

TEST(ChunkParser, DechunksAndFindsTheEnd) {
  ChunkParser parser;
  const auto fed = feed(parser, "5\r\nhello\r\n1;ext=1\r\n!\r\n0\r\nTrailer: x\r\n\r\n");
  EXPECT_EQ(fed.result, ChunkParser::Result::done);
  EXPECT_EQ(fed.payload, "hello!");
  EXPECT_TRUE(parser.done());
}

TEST(ChunkParser, ResumesAcrossAnySplit) {
  const std::string stream = "a\r\n0123456789\r\n3\r\nabc\r\n0\r\n\r\n";
  for (std::size_t split = 0; split <= stream.size(); ++split) {
    ChunkParser parser;
    const auto first = feed(parser, stream.substr(0, split));
    const auto second = feed(parser, stream.substr(split));
    EXPECT_EQ(first.payload + second.payload, "0123456789abc") << "split at " << split;
    EXPECT_EQ(second.result, ChunkParser::Result::done) << "split at " << split;
  }
}

TEST(ChunkParser, RefusesBrokenFraming) {
  for (const std::string bad :
       {"zz\r\n", "5\r\nab\r\n0\r\n\r\n", "2\nok\r\n", "2\r\nokX\r\n", "0\r\n\r\nmore",
        "1234567890abcdef0\r\n", "0\r\nbad\nfield\r\n\r\n", "\r\n"}) {
    ChunkParser parser;
    EXPECT_EQ(feed(parser, bad).result, ChunkParser::Result::error) << bad;
    EXPECT_FALSE(parser.error().empty());
  }
}

TEST(ChunkParser, WithoutTheLastChunkIsNotDone) {
  ChunkParser parser;
  EXPECT_EQ(feed(parser, "2\r\nok\r\n").result, ChunkParser::Result::more);
  EXPECT_FALSE(parser.done());
}

} // namespace
} // namespace isapi_host
