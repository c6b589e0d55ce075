// serial_steps: a step runs on the thread that brings it when none runs; one that arrives
// while another runs (from another thread, or from inside that step) waits and runs after
// it, in arrival order, on the running thread. Steps never overlap and never nest.
#include "request/serial_steps.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

using kallithea_isapi::serial_steps;

TEST(SerialSteps, RunsAnUncontendedStepOnTheCallingThread) {
  serial_steps steps;
  std::thread::id ran_on;
  bool owner_inside = false;
  steps.run([&] {
    ran_on = std::this_thread::get_id();
    owner_inside = steps.running_in_this_thread();
  });
  EXPECT_EQ(ran_on, std::this_thread::get_id());
  EXPECT_TRUE(owner_inside);
  EXPECT_FALSE(steps.running_in_this_thread());
}

TEST(SerialSteps, AStepBroughtFromInsideAStepRunsAfterItNotInsideIt) {
  // As an ISAPI completion a host delivers inline, inside the WriteClient a step made.
  serial_steps steps;
  std::vector<int> order;
  steps.run([&] {
    order.push_back(1);
    steps.run([&] { order.push_back(3); });
    order.push_back(2);
  });
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(SerialSteps, StepsFromManyThreadsNeverOverlapAndAllRun) {
  serial_steps steps;
  std::atomic<int> inside{0}, most_inside{0};
  int ran = 0; // unguarded on purpose: serial steps need no lock (TSan checks the claim)
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i)
        steps.run([&] {
          int now = ++inside;
          int seen = most_inside.load();
          while (now > seen && !most_inside.compare_exchange_weak(seen, now)) {
          }
          ++ran;
          --inside;
        });
    });
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(most_inside.load(), 1);
  EXPECT_EQ(ran, 8000);
}
