#include "thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>

namespace isapi_host {
namespace {

// One task that blocks its thread until release(); run() returns once it has started.
class BlockedTask {
public:
  void run(ThreadPool& pool, const std::string& label) {
    std::shared_future<void> released = released_;
    pool.post(
        [this, released] {
          started_.set_value();
          released.wait();
        },
        label);
    started_.get_future().wait();
  }
  void release() { release_.set_value(); }

private:
  std::promise<void> release_;
  std::shared_future<void> released_ = release_.get_future().share();
  std::promise<void> started_;
};

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

// Tasks posted with Wake::later sleep until wake(); then one wake serves the batch, and a
// task that blocks holds up none of those behind it (the next idle thread takes them).
TEST(ThreadPool, ABatchRunsAfterOneWakeAndPassesOnPastABlockedTask) {
  ThreadPool pool(2, 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(50)); // both threads asleep
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> started{false};
  ASSERT_TRUE(pool.post(
      [released, &started] {
        started = true;
        released.wait();
      },
      "blocked", ThreadPool::Wake::later));
  std::promise<void> ran;
  ASSERT_TRUE(pool.post([&ran] { ran.set_value(); }, "free", ThreadPool::Wake::later));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(started); // no wake yet: nothing ran
  pool.wake();
  ran.get_future().wait(); // while the first task is still blocked
  EXPECT_TRUE(started);
  EXPECT_EQ(pool.size(), 2u); // passed on to the idle thread, not a new one
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
  // Grows to the cap (the supervisor adds a thread once a task has waited), no further.
  while (pool.size() < 2)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(pool.size(), 2u);
  release.set_value();
  pool.stop();
  EXPECT_EQ(done.load(), 5);
  EXPECT_FALSE(pool.post([] {}, "late"));
}

TEST(ThreadPool, ReportsABlockedTaskOnce) {
  ThreadPool pool(1, 1);
  BlockedTask task;
  task.run(pool, "HttpExtensionProc of GET /x");
  std::vector<ThreadPool::Blocked> blocked;
  while (blocked.empty())
    blocked = pool.newly_blocked(std::chrono::milliseconds(0));
  ASSERT_EQ(blocked.size(), 1u);
  EXPECT_EQ(blocked[0].label, "HttpExtensionProc of GET /x");
  EXPECT_TRUE(pool.newly_blocked(std::chrono::milliseconds(0)).empty());
  task.release();
  pool.stop();
}

TEST(ThreadPool, WaitIdleSeesARunningTask) {
  ThreadPool pool(1, 1);
  BlockedTask task;
  task.run(pool, "t");
  EXPECT_FALSE(pool.wait_idle(ThreadPool::clock::now()));
  task.release();
  EXPECT_TRUE(pool.wait_idle(ThreadPool::clock::now() + std::chrono::seconds(10)));
  pool.stop();
}

} // namespace
} // namespace isapi_host
