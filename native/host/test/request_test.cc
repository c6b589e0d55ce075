// The request state machine through a real Host (real threads, a real fixture extension
// loaded with dlopen) with a fake event sink standing in for JavaScript: the test thread
// plays the JS thread, draining events and acknowledging writes.
#include "host.h"
#include "request.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>

namespace isapi_host {
namespace {

class FakeSink : public EventSink {
public:
  bool post(HostEvent&& event) override {
    std::lock_guard<std::mutex> lock(mutex_);
    events_.push_back(std::move(event));
    changed_.notify_all();
    return true;
  }

  /// Waits for the next event (the test fails after 10 s without one).
  HostEvent next() {
    std::unique_lock<std::mutex> lock(mutex_);
    EXPECT_TRUE(
        changed_.wait_for(lock, std::chrono::seconds(10), [this] { return !events_.empty(); }));
    if (events_.empty())
      return HostEvent{HostEvent::Kind::log, 0};
    HostEvent event = std::move(events_.front());
    events_.pop_front();
    return event;
  }

private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<HostEvent> events_;
};

struct Trace {
  std::vector<HostEvent::Kind> kinds;
  std::vector<std::string> rules;
  std::string body;
};

class RequestTest : public ::testing::Test {
protected:
  void start(const std::string& fixture, bool verify = true, std::uint32_t done_timeout = 60000) {
    HostConfig config;
    config.dll = std::string(FIXTURES_DIR) + "/" + fixture + ".so";
    config.virtual_dir = "/kallithea";
    config.physical_path = "C:\\inetpub\\kallithea";
    config.verify = verify;
    config.done_timeout_ms = done_timeout;
    sink_ = std::make_shared<FakeSink>();
    host_ = Host::create(config, sink_);
  }

  void TearDown() override {
    if (host_) {
      host_->close_now(1000);
      host_.reset();
    }
  }

  static RequestInfo get(const std::string& target) {
    RequestInfo info;
    info.method = "GET";
    info.raw_target = target;
    info.http_version = "1.1";
    info.client_keep_alive = true;
    return info;
  }

  /// Plays JavaScript for request `id` until its `finished` event.
  Trace run(std::uint64_t id) {
    Trace trace;
    for (;;) {
      HostEvent event = sink_->next();
      if (event.request_id != id)
        continue;
      trace.kinds.push_back(event.kind);
      if (event.kind == HostEvent::Kind::violation)
        trace.rules.push_back(event.text);
      if (event.kind == HostEvent::Kind::write) {
        trace.body.append(event.data.begin(), event.data.end());
        // As JS does: only an awaited write is acknowledged.
        auto request = host_->find(id);
        if (event.flag && request)
          request->write_done(static_cast<std::uint32_t>(event.number), true);
      }
      if (event.kind == HostEvent::Kind::finished || event.kind == HostEvent::Kind::log)
        return trace;
    }
  }

  std::shared_ptr<FakeSink> sink_;
  std::shared_ptr<Host> host_;
};

long count(const Trace& trace, HostEvent::Kind kind) {
  return std::count(trace.kinds.begin(), trace.kinds.end(), kind);
}

TEST_F(RequestTest, AResponseEndsWithDoneThenOneFinished) {
  start("echo_sync");
  const auto id = host_->begin(get("/kallithea/e?generate=5"));
  ASSERT_NE(id, 0u);
  const Trace trace = run(id);
  EXPECT_EQ(trace.kinds.front(), HostEvent::Kind::headers);
  EXPECT_EQ(count(trace, HostEvent::Kind::done), 1);
  EXPECT_EQ(count(trace, HostEvent::Kind::finished), 1);
  EXPECT_EQ(trace.kinds.back(), HostEvent::Kind::finished);
  EXPECT_EQ(trace.body.size(), 5u);
  EXPECT_EQ(host_->live_requests(), 0u);
}

TEST_F(RequestTest, AClientGoneBeforeDispatchStillGetsItsFinishedEvent) {
  start("echo_sync");
  RequestInfo info = get("/kallithea/up");
  info.method = "POST";
  info.content_length = 100000; // waits for its read-ahead: never dispatched
  const auto id = host_->begin(info);
  host_->find(id)->client_gone();
  const Trace trace = run(id);
  EXPECT_EQ(trace.kinds, std::vector<HostEvent::Kind>{HostEvent::Kind::finished});
  EXPECT_EQ(host_->live_requests(), 0u);
}

TEST_F(RequestTest, TheWatchdogEndsAHungRequestWithOneFinished) {
  start("verifier_breaker", true, 100);
  const auto id = host_->begin(get("/kallithea/b?rule=done_never"));
  const Trace trace = run(id);
  EXPECT_EQ(trace.rules, std::vector<std::string>{"done_never"});
  EXPECT_EQ(count(trace, HostEvent::Kind::finished), 1);
}

TEST_F(RequestTest, ABadHeadIsReportedAndNeverReachesTheSink) {
  start("verifier_breaker", false);
  const auto id = host_->begin(get("/kallithea/b?rule=bad_header_name"));
  const Trace trace = run(id);
  EXPECT_EQ(count(trace, HostEvent::Kind::headers), 0);
  EXPECT_EQ(trace.rules, std::vector<std::string>{"bad_response_head"});
}

TEST_F(RequestTest, BrokenChunkingIsCaughtByTheStrictParser) {
  start("verifier_breaker");
  const auto id = host_->begin(get("/kallithea/b?rule=broken_chunking"));
  const Trace trace = run(id);
  EXPECT_EQ(trace.rules, std::vector<std::string>{"broken_chunking"});
}

TEST_F(RequestTest, NoRequestsAfterCloseAndTheExtensionIsTerminatedWhenDrained) {
  start("echo_sync");
  ASSERT_TRUE(host_->close_async(1000));
  EXPECT_FALSE(host_->close_async(1000));
  HostEvent closed = sink_->next();
  while (closed.kind != HostEvent::Kind::closed)
    closed = sink_->next();
  EXPECT_TRUE(closed.flag); // drained
  EXPECT_EQ(host_->begin(get("/kallithea/x")), 0u);
}

} // namespace
} // namespace isapi_host
