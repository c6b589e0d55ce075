#include "thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>

namespace isapi_host {
namespace {

TEST(ThreadPool, GrowsWhileItsThreadsAreBlocked) {
  ThreadPool pool(2, 8);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  for (int i = 0; i < 4; ++i)
    ASSERT_TRUE(pool.post([released] { released.wait(); }, "blocked"));
  // Four threads are blocked: a fifth task still runs.
  std::promise<void> ran;
  ASSERT_TRUE(pool.post([&ran] { ran.set_value(); }, "free"));
  ran.get_future().wait();
  EXPECT_GE(pool.size(), 5u);
  release.set_value();
  pool.stop();
}

TEST(ThreadPool, StopsAtTheCapAndRunsTheRestLater) {
  ThreadPool pool(1, 2);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> done{0};
  for (int i = 0; i < 5; ++i)
    pool.post(
        [released, &done] {
          released.wait();
          ++done;
        },
        "t");
  EXPECT_EQ(pool.size(), 2u);
  release.set_value();
  pool.stop();
  EXPECT_EQ(done.load(), 5);
  EXPECT_FALSE(pool.post([] {}, "late"));
}

TEST(ThreadPool, ReportsABlockedTaskOnce) {
  ThreadPool pool(1, 1);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> started;
  pool.post(
      [released, &started] {
        started.set_value();
        released.wait();
      },
      "HttpExtensionProc of GET /x");
  started.get_future().wait();
  std::vector<ThreadPool::Blocked> blocked;
  while (blocked.empty())
    blocked = pool.newly_blocked(std::chrono::milliseconds(0));
  ASSERT_EQ(blocked.size(), 1u);
  EXPECT_EQ(blocked[0].label, "HttpExtensionProc of GET /x");
  EXPECT_TRUE(pool.newly_blocked(std::chrono::milliseconds(0)).empty());
  release.set_value();
  pool.stop();
}

} // namespace
} // namespace isapi_host
