#include "body_buffer.h"

#include <gtest/gtest.h>

#include <string>

namespace isapi_host {
namespace {

std::string take(BodyBuffer& buffer, std::size_t size) {
  std::string out(size, '\0');
  out.resize(buffer.take(reinterpret_cast<std::uint8_t*>(out.data()), size));
  return out;
}

void append(BodyBuffer& buffer, const std::string& text) {
  buffer.append(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
}

TEST(BodyBuffer, TakesAcrossChunksInOrder) {
  BodyBuffer buffer;
  append(buffer, "abc");
  append(buffer, "defg");
  EXPECT_EQ(buffer.size(), 7u);
  EXPECT_EQ(take(buffer, 2), "ab");
  EXPECT_EQ(take(buffer, 3), "cde");
  EXPECT_EQ(buffer.size(), 2u);
  EXPECT_EQ(take(buffer, 10), "fg");
  EXPECT_EQ(buffer.size(), 0u);
  EXPECT_EQ(take(buffer, 10), "");
}

TEST(BodyBuffer, EmptyAppendsAddNothing) {
  BodyBuffer buffer;
  append(buffer, "");
  EXPECT_EQ(buffer.size(), 0u);
  append(buffer, "x");
  EXPECT_EQ(take(buffer, 1), "x");
}

} // namespace
} // namespace isapi_host
