#include "write_queue.h"

#include <gtest/gtest.h>

namespace isapi_host {
namespace {

using Ack = WriteQueue::Ack;

TEST(WriteQueue, WritesWithinTheWatermarkAreAcknowledgedNatively) {
  WriteQueue queue(1000);
  for (std::uint32_t i = 1; i <= 10; ++i) {
    const auto write = queue.push(100);
    EXPECT_EQ(write.seq, i);
    EXPECT_EQ(write.ack, Ack::native);
  }
  EXPECT_EQ(queue.queued(), 1000u);
}

TEST(WriteQueue, TheWritePastTheWatermarkIsAwaitedAndItsAcknowledgementCoversEarlierOnes) {
  WriteQueue queue(1000);
  for (int i = 0; i < 10; ++i)
    queue.push(100);
  const auto past = queue.push(1);
  EXPECT_EQ(past.ack, Ack::awaited);
  EXPECT_FALSE(queue.taken_through(past.seq));
  queue.taken(past.seq);
  EXPECT_TRUE(queue.taken_through(past.seq));
  EXPECT_EQ(queue.queued(), 0u);
  EXPECT_EQ(queue.push(100).ack, Ack::native);
}

TEST(WriteQueue, OneWriteLargerThanTheWatermarkIsAwaited) {
  WriteQueue queue(1000);
  EXPECT_EQ(queue.push(1001).ack, Ack::awaited);
}

TEST(WriteQueue, ALaterAcknowledgementFirstLeavesNothingForTheEarlierOne) {
  // Node may say a later write was taken before an earlier one's drain: the socket takes
  // bytes in order, so the later one covers both.
  WriteQueue queue(10);
  const auto first = queue.push(20);
  const auto second = queue.push(20);
  ASSERT_EQ(second.ack, Ack::awaited);
  queue.taken(second.seq);
  EXPECT_EQ(queue.queued(), 0u);
  queue.taken(first.seq);
  EXPECT_TRUE(queue.taken_through(second.seq));
  EXPECT_EQ(queue.queued(), 0u);
}

TEST(WriteQueue, AnAcknowledgementOfAnUnknownWriteIsIgnored) {
  WriteQueue queue(10);
  const auto write = queue.push(20);
  queue.taken(write.seq + 5);
  EXPECT_FALSE(queue.taken_through(write.seq));
  EXPECT_EQ(queue.queued(), 20u);
}

} // namespace
} // namespace isapi_host
