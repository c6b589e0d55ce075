#include "verifier_policy.h"

#include <gtest/gtest.h>

namespace isapi_host {
namespace {

using std::chrono::milliseconds;

Rule rule_of(const std::optional<Breach>& breach) {
  EXPECT_TRUE(breach.has_value());
  return breach ? breach->rule : Rule::done_never;
}

TEST(VerifierPolicy, OffReportsOnlyWhatTheHostCannotServe) {
  const VerifierPolicy off(false);
  RequestFacts facts;
  facts.done = true;
  EXPECT_FALSE(off.on_call(facts, "WriteClient"));
  EXPECT_FALSE(off.on_done(facts));
  EXPECT_FALSE(off.on_body(5, 3, false));
  EXPECT_EQ(rule_of(off.on_bad_head("x")), Rule::bad_response_head);
}

TEST(VerifierPolicy, DoneRules) {
  const VerifierPolicy on(true);
  RequestFacts facts;
  EXPECT_FALSE(on.on_done(facts));
  facts.async_in_flight = true;
  EXPECT_EQ(rule_of(on.on_done(facts)), Rule::done_with_io_pending);
  facts.async_in_flight = false;
  facts.sync_waiters = 1;
  EXPECT_EQ(rule_of(on.on_done(facts)), Rule::done_during_io);
  facts.done = true;
  EXPECT_EQ(rule_of(on.on_done(facts)), Rule::done_twice);
  facts.given_up = true;
  EXPECT_FALSE(on.on_done(facts)); // the watchdog ended it: late calls are not breaches
  EXPECT_EQ(rule_of(on.on_proc_return(HSE_STATUS_SUCCESS, true)), Rule::done_then_status);
  EXPECT_FALSE(on.on_proc_return(HSE_STATUS_PENDING, true));
  EXPECT_FALSE(on.on_proc_return(HSE_STATUS_SUCCESS, false));
}

TEST(VerifierPolicy, IoRules) {
  const VerifierPolicy on(true);
  RequestFacts facts;
  EXPECT_EQ(rule_of(on.on_async_io(facts, "WriteClient")), Rule::async_without_completion);
  facts.has_completion = true;
  EXPECT_FALSE(on.on_async_io(facts, "WriteClient"));
  EXPECT_FALSE(on.on_sync_io(facts, "ReadClient"));
  facts.async_in_flight = true;
  EXPECT_EQ(rule_of(on.on_async_io(facts, "WriteClient")), Rule::two_async_io);
  EXPECT_EQ(rule_of(on.on_sync_io(facts, "ReadClient")), Rule::sync_io_during_async);
  EXPECT_FALSE(on.on_write_before_headers(true));
  EXPECT_EQ(rule_of(on.on_write_before_headers(false)), Rule::write_before_headers);
}

TEST(VerifierPolicy, BodyBufferAndIdleRules) {
  const VerifierPolicy on(true);
  EXPECT_FALSE(on.on_body(3, 3, true));
  EXPECT_FALSE(on.on_body(2, 3, false));
  EXPECT_EQ(rule_of(on.on_body(2, 3, true)), Rule::content_length_mismatch);
  EXPECT_EQ(rule_of(on.on_body(4, 3, false)), Rule::content_length_mismatch);
  const char data[] = "abcd";
  const auto sum = VerifierPolicy::checksum(data, 4);
  EXPECT_FALSE(on.on_write_completion(sum, VerifierPolicy::checksum(data, 4)));
  EXPECT_EQ(rule_of(on.on_write_completion(sum, VerifierPolicy::checksum("abce", 4))),
            Rule::async_buffer_reused);
  EXPECT_FALSE(on.on_idle(milliseconds(99), milliseconds(100)));
  EXPECT_EQ(rule_of(on.on_idle(milliseconds(100), milliseconds(100))), Rule::done_never);
  EXPECT_STREQ(rule_name(Rule::sync_io_during_async), "sync_io_during_async");
}

} // namespace
} // namespace isapi_host
