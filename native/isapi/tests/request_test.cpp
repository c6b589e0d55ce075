// The request driver end to end inside one process: fake host -> runtime -> FastCGI ->
// fake responder. Each test checks DONE_WITH_SESSION exactly once and one async I/O at most.
#include "fake_host.hpp"
#include "fake_responder.hpp"
#include "fastcgi/record.hpp"
#include "runtime/runtime.hpp"
#include "scripted_responder.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/sockios.h>

namespace {

kallithea_isapi::runtime* current = nullptr;

DWORD WINAPI proc(EXTENSION_CONTROL_BLOCK* ecb) {
  return current->handle(ecb);
}

class request_test : public ::testing::Test {
protected:
  void SetUp() override {
    char templ[] = "/tmp/kallithea-isapi-test-XXXXXX";
    dir_ = mkdtemp(templ);
    std::ofstream(dir_ + "/secret") << "s3cret\n";
    write_ini("");
  }
  void TearDown() override {
    runtime_.reset();
    responder_.reset();
    scripted_.reset();
    std::system(("rm -rf " + dir_).c_str());
  }
  void write_ini(const std::string& extra) {
    std::ofstream(dir_ + "/kallithea-isapi.ini")
        << "[isapi]\nmode = connect\nbridge_address = unix:" << dir_
        << "/b.sock\nsecret_file = secret\nconnect_timeout = 0.3\nthreads = 4\n"
        << extra;
  }
  void start(bool with_responder = true) {
    if (with_responder)
      responder_ = std::make_unique<fake::responder>(dir_ + "/b.sock", "s3cret");
    runtime_ = std::make_unique<kallithea_isapi::runtime>(dir_ + "/kallithea-isapi.ini", dir_);
    runtime_->start();
    current = runtime_.get();
  }
  void start_scripted(fake::scripted_responder::script script) {
    scripted_ = std::make_unique<fake::scripted_responder>(dir_ + "/b.sock", std::move(script));
    start(false);
  }
  /// Sends `hung` to /hang and waits until it holds the bridge connection (max_connections
  /// = 1 then makes every later request queue).
  void occupy_the_only_connection(fake::connection& hung) {
    hung.path_info = "/hang";
    host_.run(hung, proc);
    for (int i = 0; i < 400 && responder_->connections.load() == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  void run(fake::connection& c) {
    ASSERT_EQ(host_.run(c, proc), static_cast<DWORD>(HSE_STATUS_PENDING));
    ASSERT_TRUE(host_.wait_done(c));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    EXPECT_EQ(c.done_calls, 1);
    EXPECT_LE(c.max_async_in_flight, 1);
  }
  std::string log_text() {
    runtime_->log().flush();
    std::ifstream f(dir_ + "/kallithea_isapi.log");
    return std::string(std::istreambuf_iterator<char>(f), {});
  }

  std::string dir_;
  fake::host host_;
  std::unique_ptr<fake::responder> responder_;
  std::unique_ptr<fake::scripted_responder> scripted_;
  std::unique_ptr<kallithea_isapi::runtime> runtime_;
};

std::string dechunk(const std::string& s, bool& complete) {
  std::string out;
  std::size_t pos = 0;
  complete = false;
  while (pos < s.size()) {
    std::size_t eol = s.find("\r\n", pos);
    if (eol == std::string::npos)
      return out;
    std::size_t n = std::stoul(s.substr(pos, eol - pos), nullptr, 16);
    pos = eol + 2;
    if (n == 0) {
      complete = s.compare(pos, 2, "\r\n") == 0 && pos + 2 == s.size();
      return out;
    }
    out += s.substr(pos, n);
    pos += n + 2;
  }
  return out;
}

} // namespace

TEST_F(request_test, get_relays_status_headers_and_body) {
  start();
  fake::connection c;
  c.path_info = "/hello";
  run(c);
  EXPECT_EQ(c.status, "200 OK");
  EXPECT_NE(c.headers.find("Content-Length: 5\r\n"), std::string::npos);
  EXPECT_EQ(c.output, "hello");
  EXPECT_EQ(c.done_status, static_cast<DWORD>(HSE_STATUS_SUCCESS_AND_KEEP_CONN));
  // Head and body in one IIS call (HSE_REQ_VECTOR_SEND), keep-alive kept.
  EXPECT_EQ(c.vector_sends, 1);
  EXPECT_TRUE(c.keep_conn_header);
}

// What the request shares (its place in the runtime's table, its windows) is given back
// before DONE_WITH_SESSION: the host may start the next request at once on the thread DONE
// wakes, which would otherwise wait for the locks the ending request still holds.
TEST_F(request_test, a_request_gives_back_what_it_shares_before_done_with_session) {
  start();
  fake::connection c;
  c.path_info = "/hello";
  std::size_t in_flight_at_done = 99, windows_at_done = 99;
  c.on_done = [&] {
    in_flight_at_done = runtime_->in_flight();
    windows_at_done = runtime_->windows().in_use();
  };
  run(c);
  EXPECT_EQ(c.output, "hello");
  EXPECT_EQ(in_flight_at_done, 0u);
  EXPECT_EQ(windows_at_done, 0u);
}

TEST_F(request_test, the_server_variables_are_read_inside_httpextensionproc) {
  // The start runs on the IIS thread: no hop to an io thread before the bridge is written.
  start();
  fake::connection first, second;
  first.path_info = second.path_info = "/hello";
  run(first); // opens the connection the second takes from the pool
  run(second);
  for (fake::connection* c : {&first, &second}) {
    std::lock_guard<std::mutex> lock(host_.mutex);
    EXPECT_EQ(c->variable_threads, std::set<std::thread::id>{std::this_thread::get_id()});
  }
  EXPECT_EQ(second.output, "hello");
}

TEST_F(request_test, post_body_from_preread_and_async_reads_arrives_whole) {
  start();
  fake::connection c;
  c.method = "POST";
  c.path_info = "/echo";
  for (int i = 0; i < 300000; ++i)
    c.body += static_cast<char>('a' + i % 26);
  c.preread = 49152;
  c.variables["REMOTE_USER"] = "DOMAIN\\alice";
  run(c);
  EXPECT_EQ(c.status, "200 OK");
  EXPECT_EQ(c.output.size(), c.body.size());
  EXPECT_TRUE(c.output == c.body);
  EXPECT_NE(c.headers.find("X-Content-Length-Param: 300000"), std::string::npos);
  EXPECT_NE(c.headers.find("X-User: DOMAIN\\alice"), std::string::npos);
}

TEST_F(request_test, unknown_length_body_is_read_to_eof_without_content_length) {
  start();
  fake::connection c;
  c.method = "POST";
  c.path_info = "/echo";
  c.body = std::string(150000, 'z');
  c.preread = 1000;
  c.unknown_length = true;
  run(c);
  EXPECT_EQ(c.output, c.body);
  EXPECT_NE(c.headers.find("X-Content-Length-Param: absent"), std::string::npos);
}

TEST_F(request_test, response_without_length_is_chunked_for_http11) {
  start();
  fake::connection c;
  c.path_info = "/nolength";
  run(c);
  EXPECT_NE(c.headers.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
  bool complete = false;
  EXPECT_EQ(dechunk(c.output, complete), "abcd" + std::string(70000, 'e'));
  EXPECT_TRUE(complete);
  EXPECT_TRUE(c.keep_conn_header);
  EXPECT_EQ(c.vector_sends, 1); // the head with the first window; the rest by WriteClient
}

TEST_F(request_test, response_without_length_ends_by_close_for_http10) {
  start();
  fake::connection c;
  c.path_info = "/nolength";
  c.variables["SERVER_PROTOCOL"] = "HTTP/1.0";
  run(c);
  EXPECT_EQ(c.headers.find("Transfer-Encoding"), std::string::npos);
  EXPECT_EQ(c.output, "abcd" + std::string(70000, 'e'));
  EXPECT_FALSE(c.keep_conn_header);
  EXPECT_EQ(c.done_status, static_cast<DWORD>(HSE_STATUS_SUCCESS));
  // Ends by close and spans windows: a vector send with HSE_IO_DISCONNECT_AFTER_SEND would
  // close after the first window, so the head goes alone.
  EXPECT_EQ(c.vector_sends, 0);
}

TEST_F(request_test, head_gets_no_body_and_no_chunking) {
  start();
  fake::connection c;
  c.method = "HEAD";
  c.path_info = "/nolength";
  run(c);
  EXPECT_EQ(c.headers.find("Transfer-Encoding"), std::string::npos);
  EXPECT_EQ(c.output, "");
  EXPECT_EQ(c.status, "200 OK");
  EXPECT_EQ(c.vector_sends, 0); // no body to go with the head
}

TEST_F(request_test, bridge_stderr_goes_to_the_log) {
  start();
  fake::connection c;
  c.path_info = "/stderr";
  run(c);
  EXPECT_EQ(c.status, "204 No Content");
  EXPECT_NE(log_text().find("bridge stderr: a warning line"), std::string::npos);
}

TEST_F(request_test, bridge_dying_mid_response_cuts_the_client_off) {
  start();
  fake::connection c;
  c.path_info = "/die";
  run(c);
  EXPECT_TRUE(c.closed);
  EXPECT_EQ(c.output.find("0\r\n\r\n"), std::string::npos);
  EXPECT_NE(c.done_status, static_cast<DWORD>(HSE_STATUS_SUCCESS_AND_KEEP_CONN));
}

TEST_F(request_test, unreachable_bridge_gives_a_502_page) {
  start(false);
  fake::connection c;
  c.path_info = "/hello";
  run(c);
  EXPECT_EQ(c.status, "502 Bad Gateway");
  EXPECT_EQ(c.ecb.dwHttpStatusCode, 502u);
  EXPECT_NE(c.output.find("cannot be reached"), std::string::npos);
  EXPECT_NE(log_text().find("bridge unreachable"), std::string::npos);
  // Its error id: in the page, in X-Kallithea-Isapi-Error-Id and in its log line.
  const std::string header = "X-Kallithea-Isapi-Error-Id: ";
  auto at = c.headers.find(header);
  ASSERT_NE(at, std::string::npos) << c.headers;
  std::string id = c.headers.substr(at + header.size(), 12);
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
  EXPECT_NE(c.output.find("error id <code>" + id + "</code>"), std::string::npos) << c.output;
  EXPECT_NE(log_text().find("error page " + id + ": 502 Bad Gateway for GET /hello"),
            std::string::npos)
      << log_text();
}

TEST_F(request_test, client_leaving_mid_upload_ends_with_done_and_aborts_the_bridge_request) {
  start();
  fake::connection c;
  c.method = "POST";
  c.path_info = "/echo";
  c.body = std::string(200000, 'x');
  c.preread = 100;
  c.client_gone_after = 50000;
  run(c);
  EXPECT_TRUE(c.status.empty());
  EXPECT_TRUE(c.closed);
}

TEST_F(request_test, client_leaving_mid_download_ends_with_done) {
  start();
  fake::connection c;
  c.method = "POST";
  c.path_info = "/echo";
  c.body = std::string(500000, 'x');
  c.preread = 100;
  c.write_fails_after = 100000;
  run(c);
  EXPECT_EQ(c.status, "200 OK");
  EXPECT_LE(c.output.size(), 100000u);
}

TEST_F(request_test, bad_config_answers_500_naming_file_and_key) {
  write_ini("max_connections = many\n");
  start();
  fake::connection c;
  run(c);
  EXPECT_EQ(c.status, "500 Internal Server Error");
  EXPECT_NE(c.output.find("max_connections"), std::string::npos);
  EXPECT_NE(c.output.find("kallithea-isapi.ini"), std::string::npos);
}

TEST_F(request_test, many_concurrent_requests_share_a_bounded_pool) {
  write_ini("max_connections = 8\n");
  start();
  std::vector<std::unique_ptr<fake::connection>> conns;
  for (int i = 0; i < 300; ++i) {
    conns.push_back(std::make_unique<fake::connection>());
    conns.back()->path_info = i % 3 == 0 ? "/slow" : "/hello";
    ASSERT_EQ(host_.run(*conns.back(), proc), static_cast<DWORD>(HSE_STATUS_PENDING));
  }
  for (auto& c : conns) {
    ASSERT_TRUE(host_.wait_done(*c));
    EXPECT_EQ(c->status, "200 OK");
  }
  EXPECT_LE(responder_->connections.load(), 8);
  EXPECT_EQ(responder_->requests.load(), 300);
  EXPECT_EQ(responder_->bad_secret.load(), 0);
}

TEST_F(request_test, queue_overflow_answers_503_with_retry_after) {
  write_ini("max_connections = 1\nmax_queued = 1\n");
  start();
  std::vector<std::unique_ptr<fake::connection>> conns;
  for (int i = 0; i < 10; ++i) {
    conns.push_back(std::make_unique<fake::connection>());
    conns.back()->path_info = "/slow";
    host_.run(*conns.back(), proc);
  }
  int refused = 0;
  for (auto& c : conns) {
    ASSERT_TRUE(host_.wait_done(*c));
    if (c->status.rfind("503", 0) == 0) {
      ++refused;
      EXPECT_NE(c->headers.find("Retry-After:"), std::string::npos);
    }
  }
  EXPECT_GE(refused, 1);
}

TEST_F(request_test, terminate_drains_and_refuses_new_requests) {
  start();
  fake::connection slow;
  slow.path_info = "/slow";
  host_.run(slow, proc);
  runtime_->stop(); // waits for the slow one
  EXPECT_EQ(slow.done_calls, 1);
  EXPECT_EQ(slow.status, "200 OK");
}

TEST_F(request_test, terminate_refuses_new_requests_then_aborts_what_outlives_drain_timeout) {
  write_ini("drain_timeout = 0.5\n");
  start();
  fake::connection hung;
  hung.path_info = "/hang";
  host_.run(hung, proc);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::thread stopper([&] { runtime_->stop(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  fake::connection late; // arrives while draining
  late.path_info = "/hello";
  EXPECT_EQ(host_.run(late, proc), static_cast<DWORD>(HSE_STATUS_PENDING));
  ASSERT_TRUE(host_.wait_done(late));
  EXPECT_EQ(late.status.substr(0, 3), "503");
  stopper.join();
  EXPECT_EQ(hung.done_calls, 1);
  EXPECT_TRUE(hung.closed);
  EXPECT_NE(log_text().find("drain_timeout passed: aborting 1 requests"), std::string::npos);
}

TEST_F(request_test, a_dead_pooled_connection_is_retried_once_on_a_new_one) {
  start();
  fake::connection first;
  first.path_info = "/once";
  run(first);
  EXPECT_EQ(first.output, "once");
  std::this_thread::sleep_for(std::chrono::milliseconds(50)); // the responder has closed it
  fake::connection second;
  second.path_info = "/hello";
  run(second);
  EXPECT_EQ(second.status, "200 OK");
  EXPECT_EQ(second.output, "hello");
  EXPECT_EQ(responder_->connections.load(), 2);
}

// --- Issue 8: ownership, states, reuse, retry, queue, exceptions ----------------------------

using fake::fcgi_request;
using fake::scripted_responder;

// Invariant: a connection is freed only when no operation on it is outstanding. The bridge
// answers a big POST before reading its body, then drains it (what it does for an early
// 502/503); the DLL gives the connection up while its STDIN write is in flight. Before the
// fix: heap-use-after-free under ASan in the write op.
TEST_F(request_test, early_answer_while_the_body_is_being_written_frees_nothing_in_use) {
  start_scripted([](int fd, int index) {
    fcgi_request r;
    while (scripted_responder::read_request(fd, r, false)) {
      scripted_responder::send_response(
          fd, "Status: 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy");
      // Starts draining a little later each time, so that across the iterations a part of
      // the DLL's pending STDIN write completes just as the DLL finishes the request and
      // gives the connection up. Drained to the end of this request's body, as the bridge
      // does: when the DLL sent all of it, the connection is pooled and serves the next
      // request (draining to EOF instead left that one unanswered).
      std::this_thread::sleep_for(std::chrono::microseconds((index % 50) * 4));
      scripted_responder::drain_stdin(fd);
    }
  });
  const std::string body(4 << 20, 'p');
  for (int i = 0; i < 200; ++i) {
    fake::connection c;
    c.method = "POST";
    c.path_info = "/upload";
    c.body = body;
    // Most of it in lpbData: 64 KiB STDIN records, which a draining peer takes in parts.
    c.preread = body.size() - 1000;
    run(c);
    ASSERT_EQ(c.status, "503 Service Unavailable") << "iteration " << i;
    ASSERT_EQ(c.output, "busy");
    ASSERT_EQ(c.vector_sends, 1);
    // Unless the whole body was read after all, the client connection must not be kept.
    if (c.body_offset < c.body.size()) {
      ASSERT_EQ(c.done_status, static_cast<DWORD>(HSE_STATUS_SUCCESS)) << "iteration " << i;
    }
  }
}

// A close-framed answer (HTTP/1.0, no length) that fits one window: the head, the body and
// the close in one vector send (HSE_IO_DISCONNECT_AFTER_SEND, no keep-alive).
TEST_F(request_test, a_small_close_framed_answer_goes_in_one_vector_send_that_disconnects) {
  start_scripted([](int fd, int) {
    fcgi_request r;
    while (scripted_responder::read_request(fd, r))
      scripted_responder::send_response(fd,
                                        "Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nshort");
  });
  fake::connection c;
  c.path_info = "/short";
  c.variables["SERVER_PROTOCOL"] = "HTTP/1.0";
  run(c);
  EXPECT_EQ(c.status, "200 OK");
  EXPECT_EQ(c.output, "short");
  EXPECT_EQ(c.vector_sends, 1);
  EXPECT_FALSE(c.keep_conn_header);
  EXPECT_EQ(c.done_status, static_cast<DWORD>(HSE_STATUS_SUCCESS));
}

// Invariant: bytes after END_REQUEST never become the next request's response.
TEST_F(request_test, bytes_after_end_request_keep_the_connection_out_of_the_pool) {
  start_scripted([](int fd, int index) {
    fcgi_request r;
    while (scripted_responder::read_request(fd, r)) {
      std::string who = r.params["PATH_INFO"];
      // On the first connection a stray answer, as if for a request nobody sent, follows in
      // the same write: it is there when the DLL reads END_REQUEST, whatever the scheduler
      // does (sent apart, it could come after the idle check and be caught as idle bytes).
      std::string stray = index == 0 ? scripted_responder::record_bytes(
                                           kallithea_isapi::fastcgi::stdout_,
                                           "Status: 200 OK\r\nContent-Length: 7\r\n\r\nleaked!")
                                     : std::string();
      scripted_responder::send_response(
          fd, "Status: 200 OK\r\nContent-Length: " + std::to_string(who.size()) + "\r\n\r\n" + who,
          stray);
    }
  });
  fake::connection first, second;
  first.path_info = "/alice";
  run(first);
  EXPECT_EQ(first.output, "/alice");
  second.path_info = "/bob";
  run(second);
  EXPECT_EQ(second.output, "/bob");
  EXPECT_EQ(scripted_->connections.load(), 2);
  EXPECT_NE(log_text().find("bytes after END_REQUEST"), std::string::npos);
}

// Invariant: an idle pooled connection that receives anything is dropped, not handed out.
TEST_F(request_test, bytes_on_an_idle_connection_drop_it_before_the_next_request) {
  start_scripted([](int fd, int index) {
    fcgi_request r;
    while (scripted_responder::read_request(fd, r)) {
      std::string who = r.params["PATH_INFO"];
      scripted_responder::send_response(
          fd, "Status: 200 OK\r\nContent-Length: " + std::to_string(who.size()) + "\r\n\r\n" + who);
      if (index == 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20)); // now it sits idle
        scripted_responder::send_response(fd, "Status: 200 OK\r\nContent-Length: 7\r\n\r\nleaked!");
      }
    }
  });
  fake::connection first;
  first.path_info = "/alice";
  run(first);
  for (int i = 0; i < 200 && runtime_->pool().live_connections() != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(runtime_->pool().live_connections(), 0u);
  fake::connection second;
  second.path_info = "/bob";
  run(second);
  EXPECT_EQ(second.output, "/bob");
  EXPECT_EQ(scripted_->connections.load(), 2);
}

// Invariant: a POST is delivered at most once. The bridge reads the whole request on a
// reused connection and dies before answering; before the fix the DLL sent it again.
TEST_F(request_test, a_post_the_bridge_read_is_never_sent_twice) {
  std::atomic<int> posts{0};
  start_scripted([&posts](int fd, int) {
    fcgi_request r;
    while (scripted_responder::read_request(fd, r)) {
      if (r.params["REQUEST_METHOD"] == "POST") {
        ++posts;
        return; // dies with the request read in full
      }
      scripted_responder::send_response(fd, "Status: 200 OK\r\nContent-Length: 2\r\n\r\nok");
    }
  });
  fake::connection warm; // leaves a pooled connection behind
  warm.path_info = "/warm";
  run(warm);
  fake::connection post;
  post.method = "POST";
  post.path_info = "/pay";
  post.body = "amount=100";
  post.preread = post.body.size(); // the whole body in lpbData: no client byte is lost
  run(post);
  EXPECT_EQ(post.status, "502 Bad Gateway");
  EXPECT_EQ(posts.load(), 1);
}

// Invariant: an idempotent request that got no answer may go once more on a new connection.
TEST_F(request_test, a_get_the_bridge_dropped_unanswered_is_retried_once) {
  std::atomic<int> gets{0};
  start_scripted([&gets](int fd, int index) {
    fcgi_request r;
    while (scripted_responder::read_request(fd, r)) {
      if (r.params["PATH_INFO"] == "/report" && index == 0) {
        ++gets;
        return;
      }
      scripted_responder::send_response(fd, "Status: 200 OK\r\nContent-Length: 2\r\n\r\nok");
    }
  });
  fake::connection warm;
  warm.path_info = "/warm";
  run(warm);
  fake::connection get;
  get.path_info = "/report";
  run(get);
  EXPECT_EQ(get.status, "200 OK");
  EXPECT_EQ(gets.load(), 1);
  EXPECT_EQ(scripted_->connections.load(), 2);
}

// Invariant: a queued request has a deadline (queue_timeout) and then gets 503 + Retry-After.
TEST_F(request_test, a_queued_request_gets_503_after_queue_timeout) {
  write_ini("max_connections = 1\nqueue_timeout = 0.3\ndrain_timeout = 0.2\n");
  start();
  fake::connection hung, queued;
  occupy_the_only_connection(hung);
  queued.path_info = "/hello";
  run(queued);
  EXPECT_EQ(queued.status, "503 Service Unavailable");
  EXPECT_NE(queued.headers.find("Retry-After:"), std::string::npos);
  EXPECT_NE(queued.output.find("queue_timeout"), std::string::npos);
  runtime_->stop(); // aborts the hung one after drain_timeout
  EXPECT_EQ(hung.done_calls, 1);
}

// Invariant: a queued request pins no window; windows are taken with the connection.
TEST_F(request_test, queued_requests_hold_no_windows) {
  write_ini("max_connections = 1\ndrain_timeout = 0.2\n");
  start();
  fake::connection hung;
  occupy_the_only_connection(hung);
  std::vector<std::unique_ptr<fake::connection>> queued;
  for (int i = 0; i < 20; ++i) {
    queued.push_back(std::make_unique<fake::connection>());
    queued.back()->path_info = "/hello";
    host_.run(*queued.back(), proc);
  }
  for (int i = 0; i < 400 && runtime_->pool().queued() < 20; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_EQ(runtime_->pool().queued(), 20u);
  EXPECT_LE(runtime_->windows().in_use(), 3u); // the hung request's; before: 2 per waiter too
  runtime_->stop();
  for (auto& c : queued)
    EXPECT_EQ(c->done_calls, 1);
}

// Invariant: once connects to the bridge give up, every waiter is answered at once rather
// than each waiting connect_timeout in turn (with the bridge down, minutes for a full queue).
TEST_F(request_test, an_unreachable_bridge_fails_every_waiter_at_once) {
  write_ini("max_connections = 1\nconnect_timeout = 1\n");
  start(false);
  std::vector<std::unique_ptr<fake::connection>> conns;
  for (int i = 0; i < 15; ++i) {
    conns.push_back(std::make_unique<fake::connection>());
    conns.back()->path_info = "/hello";
    host_.run(*conns.back(), proc);
  }
  ASSERT_TRUE(host_.wait_done(*conns[0], 20));
  // Each would otherwise wait its own connect_timeout (1 s) after the one before.
  int late = 0;
  for (auto& c : conns)
    late += host_.wait_done(*c, 3) ? 0 : 1;
  EXPECT_EQ(late, 0);
  for (auto& c : conns) {
    ASSERT_TRUE(host_.wait_done(*c, 60)); // never leave the DLL holding a dead ECB
    EXPECT_EQ(c->status, "502 Bad Gateway");
    EXPECT_EQ(c->done_calls, 1);
  }
  EXPECT_NE(log_text().find("failing 15 waiting requests"), std::string::npos);
}

// Invariant: a queued client that leaves is noticed; its request ends with DONE at once.
TEST_F(request_test, a_queued_client_that_leaves_is_noticed) {
  write_ini("max_connections = 1\ndrain_timeout = 0.2\n");
  start();
  fake::connection hung, queued;
  occupy_the_only_connection(hung);
  queued.path_info = "/hello";
  host_.run(queued, proc);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  {
    std::lock_guard<std::mutex> lock(host_.mutex);
    queued.client_left = true;
  }
  ASSERT_TRUE(host_.wait_done(queued, 10)); // queue_timeout is 30 s: only the poll ends it
  EXPECT_EQ(queued.done_calls, 1);
  EXPECT_TRUE(queued.status.empty());
  EXPECT_EQ(runtime_->pool().queued(), 0u);
  EXPECT_NE(log_text().find("client went away while waiting"), std::string::npos);
  runtime_->stop();
  EXPECT_EQ(hung.done_calls, 1);
}

// Invariant: an exception inside a request's handler fails that request (500, DONE once)
// and the io thread goes on serving.
TEST_F(request_test, an_exception_in_a_handler_fails_only_that_request) {
  write_ini("threads = 1\n");
  start();
  fake::connection bad;
  bad.path_info = "/hello";
  bad.throw_on_variable = "ALL_RAW";
  run(bad);
  EXPECT_EQ(bad.status, "500 Internal Server Error");
  EXPECT_NE(log_text().find("internal error, request failed: fake host"), std::string::npos);
  fake::connection good;
  good.path_info = "/hello";
  run(good);
  EXPECT_EQ(good.output, "hello");
}

// Invariant: a bridge address that cannot work is a configuration error with a clear page,
// never an exception on the first request (a 150-character unix: path threw name_too_long).
TEST_F(request_test, an_overlong_unix_path_is_a_config_error_page) {
  std::ofstream(dir_ + "/kallithea-isapi.ini")
      << "[isapi]\nmode = connect\nbridge_address = unix:/tmp/" << std::string(150, 'x')
      << "\nsecret_file = secret\n";
  start(false);
  fake::connection c;
  run(c);
  EXPECT_EQ(c.status, "500 Internal Server Error");
  EXPECT_NE(c.output.find("bridge_address"), std::string::npos);
  EXPECT_NE(c.output.find("sun_path"), std::string::npos);
}

// Invariant: HTTP/2 has no chunked encoding; the stream end frames the body, and the
// connection (shared by other streams) is kept.
TEST_F(request_test, http2_response_without_length_keeps_the_connection) {
  start();
  fake::connection c;
  c.path_info = "/nolength";
  c.variables["SERVER_PROTOCOL"] = "HTTP/2";
  run(c);
  EXPECT_EQ(c.headers.find("Transfer-Encoding"), std::string::npos);
  EXPECT_EQ(c.output, "abcd" + std::string(70000, 'e'));
  EXPECT_TRUE(c.keep_conn_header);
  EXPECT_EQ(c.done_status, static_cast<DWORD>(HSE_STATUS_SUCCESS_AND_KEEP_CONN));
}

// Invariant: a 502 during an upload waits for the outstanding ReadClient, then answers
// (keep-alive off) instead of resetting the client.
TEST_F(request_test, bridge_failure_during_an_upload_answers_502_without_a_reset) {
  start_scripted([](int fd, int) {
    fcgi_request r;
    scripted_responder::read_request(fd, r, false); // then dies while the body comes
  });
  fake::connection c;
  c.method = "POST";
  c.path_info = "/upload";
  c.body = std::string(1 << 20, 'u');
  c.preread = 0;
  run(c);
  EXPECT_EQ(c.status, "502 Bad Gateway");
  EXPECT_FALSE(c.closed);
  EXPECT_EQ(c.done_status, static_cast<DWORD>(HSE_STATUS_SUCCESS));
}

// Invariant: an io thread survives an exception that escapes any handler (bad_alloc from a
// pool or supervisor step): logged, and the thread goes on serving.
TEST_F(request_test, an_io_thread_survives_an_exception_outside_any_request) {
  write_ini("threads = 1\n");
  start();
  asio::post(runtime_->io(), [] { throw std::bad_alloc(); });
  fake::connection c;
  c.path_info = "/hello";
  run(c);
  EXPECT_EQ(c.output, "hello");
  EXPECT_NE(log_text().find("exception escaped an io handler (thread goes on)"), std::string::npos);
}

// Invariant: once the runtime has stopped, a late HttpExtensionProc is refused at once
// (HSE_STATUS_ERROR) instead of being queued for io threads that no longer run.
TEST_F(request_test, a_request_after_stop_is_refused_synchronously) {
  start();
  runtime_->stop();
  fake::connection late;
  late.path_info = "/hello";
  EXPECT_EQ(host_.run(late, proc), static_cast<DWORD>(HSE_STATUS_ERROR));
  EXPECT_EQ(late.done_calls, 0);
}

// The status page: only a request to its path carries the DLL's figures to the bridge, and
// they count the other requests in flight (here one, held by the bridge).
TEST_F(request_test, only_the_status_path_carries_the_dll_figures) {
  write_ini("drain_timeout = 0.2\n");
  start();
  fake::connection hung, status, other;
  occupy_the_only_connection(hung);
  status.path_info = "/kallithea/~kallithea-isapi/status";
  run(status);
  EXPECT_EQ(status.status, "200 OK");
  EXPECT_EQ(status.output.front(), '{');
  EXPECT_NE(status.output.find("\"requests_in_flight\":1,"), std::string::npos) << status.output;
  EXPECT_NE(status.output.find("\"mode\":\"connect\""), std::string::npos);
  EXPECT_NE(status.output.find("\"bridge_state\":\"ready\""), std::string::npos);
  EXPECT_NE(status.output.find("\"max_connections\":64,"), std::string::npos);
  other.method = "POST";
  other.path_info = "/echo";
  run(other);
  EXPECT_NE(other.headers.find("X-Dll-Status: absent\r\n"), std::string::npos) << other.headers;
  runtime_->stop(); // aborts the hung one after drain_timeout
  EXPECT_EQ(hung.done_calls, 1);
}

namespace {

/// A body no two offsets of which are alike for long: a byte lost, doubled or moved shows.
std::string patterned(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>((i * 131 + i / 65536 * 7 + 1) & 0xff);
  return s;
}

/// Sends `body` as STDOUT records of uneven sizes, pausing now and then (a slow bridge).
bool send_unevenly(int fd, const std::string& body) {
  static const std::size_t sizes[] = {1, 700, 65535, 4000, 30001, 65535, 65535, 9};
  std::size_t off = 0;
  for (std::size_t i = 0; off < body.size(); ++i) {
    std::size_t n = std::min(sizes[i % 8], body.size() - off);
    if (!fake::scripted_responder::send_record(fd, kallithea_isapi::fastcgi::stdout_,
                                               body.substr(off, n)))
      return false;
    off += n;
    if (i % 16 == 15)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return fake::scripted_responder::send_record(fd, kallithea_isapi::fastcgi::stdout_, "") &&
         fake::scripted_responder::send_record(fd, kallithea_isapi::fastcgi::end_request,
                                               std::string(8, '\0'));
}

} // namespace

// Double buffering: the bridge is read into one window while the other is written; every
// byte must still reach the client once and in order, with a length or chunked.
TEST_F(request_test, a_big_answer_from_a_slow_bridge_to_a_slow_client_arrives_whole_and_in_order) {
  const std::string body = patterned(3 * 1024 * 1024 + 123);
  start_scripted([&body](int fd, int) {
    fcgi_request r;
    while (scripted_responder::read_request(fd, r)) {
      std::string head = "Status: 200 OK\r\n";
      if (r.params["PATH_INFO"] == "/length")
        head += "Content-Length: " + std::to_string(body.size()) + "\r\n";
      if (!scripted_responder::send_record(fd, kallithea_isapi::fastcgi::stdout_, head + "\r\n") ||
          !send_unevenly(fd, body))
        return;
    }
  });
  for (const char* path : {"/length", "/chunked"}) {
    fake::connection c;
    c.path_info = path;
    c.write_gate = [](std::size_t index) { // a slow client
      if (index % 4 == 3)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    };
    run(c);
    EXPECT_EQ(c.status, "200 OK") << path;
    if (std::string(path) == "/length") {
      EXPECT_TRUE(c.output == body) << path << ": " << c.output.size() << " bytes";
    } else {
      bool complete = false;
      std::string got = dechunk(c.output, complete);
      EXPECT_TRUE(complete) << path;
      EXPECT_TRUE(got == body) << path << ": " << got.size() << " bytes";
    }
    EXPECT_EQ(c.done_status, static_cast<DWORD>(HSE_STATUS_SUCCESS_AND_KEEP_CONN)) << path;
    EXPECT_GT(c.writes, 3u) << path; // it did go through more than one window
    // The head goes once: with the first window, or alone when it came in a record of its
    // own and no body byte was there yet.
    EXPECT_LE(c.vector_sends, 1) << path;
  }
  EXPECT_EQ(scripted_->connections.load(), 1); // the connection went back to the pool each time
}

// While the client takes one window, the bridge's next bytes are read into the other: the
// first write is held until the bridge sees its second record read (SIOCOUTQ: its unread
// bytes), which never happens when the DLL reads only between writes.
TEST_F(request_test, the_bridge_is_read_while_a_window_is_being_written) {
  std::atomic<bool> second_read{false};
  std::atomic<bool> released{false};
  start_scripted([&](int fd, int) {
    fcgi_request r;
    if (!scripted_responder::read_request(fd, r))
      return;
    scripted_responder::send_record(fd, kallithea_isapi::fastcgi::stdout_,
                                    "Status: 200 OK\r\n\r\nfirst window;");
    // The DLL has the first record once it is written to the client (the gate holds it).
    for (int i = 0; i < 2000 && !released.load(); ++i) {
      int unread = 0;
      if (ioctl(fd, SIOCOUTQ, &unread) == 0 && unread == 0)
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20)); // the write is out by now
    scripted_responder::send_record(fd, kallithea_isapi::fastcgi::stdout_, "second window");
    for (int i = 0; i < 2000 && !released.load(); ++i) {
      int unread = 0;
      if (ioctl(fd, SIOCOUTQ, &unread) == 0 && unread == 0) {
        second_read = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    scripted_responder::send_record(fd, kallithea_isapi::fastcgi::stdout_, "");
    scripted_responder::send_record(fd, kallithea_isapi::fastcgi::end_request,
                                    std::string(8, '\0'));
  });
  fake::connection c;
  c.write_gate = [&](std::size_t index) {
    if (index != 0)
      return;
    for (int i = 0; i < 3000 && !second_read.load(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    released = true;
  };
  run(c);
  EXPECT_TRUE(second_read.load());
  bool complete = false;
  EXPECT_EQ(dechunk(c.output, complete), "first window;second window");
  EXPECT_TRUE(complete);
}

// Read-ahead: while a STDIN record waits for the bridge (which has stopped reading: its
// socket is full), the client's next chunk is already read. With the bridge stalled, the
// client bytes read (R) exceed the STDIN content that reached the socket (C) by more than
// the pending record could hold: the fake host hands out at most 10,000 bytes per read.
// The bridge then answers early, with the held chunk never sent.
TEST_F(request_test, the_client_is_read_while_a_stdin_record_waits_for_the_bridge) {
  std::atomic<bool> measure{false};
  std::atomic<long long> content_in_socket{-1};
  start_scripted([&](int fd, int) {
    fcgi_request r;
    if (!scripted_responder::read_request(fd, r, false))
      return;
    for (int i = 0; i < 10000 && !measure.load(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    int queued = 0;
    if (ioctl(fd, SIOCINQ, &queued) != 0)
      return;
    // STDIN content within the queued bytes (the last record may be cut short).
    std::string bytes(static_cast<std::size_t>(queued), '\0');
    for (std::size_t got = 0; got < bytes.size();) {
      ssize_t n = ::read(fd, bytes.data() + got, bytes.size() - got);
      if (n <= 0)
        return;
      got += static_cast<std::size_t>(n);
    }
    long long content = 0;
    for (std::size_t pos = 0; pos + 8 <= bytes.size();) {
      auto b = [&](std::size_t k) { return static_cast<unsigned char>(bytes[pos + k]); };
      std::size_t len = (std::size_t{b(4)} << 8) | b(5);
      std::size_t in_queue = std::min(len, bytes.size() - pos - 8);
      if (b(1) == kallithea_isapi::fastcgi::stdin_)
        content += static_cast<long long>(in_queue);
      pos += 8 + len + b(6);
    }
    content_in_socket = content;
    scripted_responder::send_response(fd, "Status: 200 OK\r\nContent-Length: 2\r\n\r\nok");
    char rest[65536]; // as the bridge does: read on until the DLL lets the connection go
    while (::read(fd, rest, sizeof rest) > 0) {
    }
  });
  fake::connection c;
  c.method = "POST";
  c.body = std::string(4 * 1024 * 1024, 'u');
  ASSERT_EQ(host_.run(c, proc), static_cast<DWORD>(HSE_STATUS_PENDING));
  // Until the DLL stops reading the client (unchanged for 1 s): the bridge's socket is full.
  std::size_t read = 0;
  for (int stable = 0, i = 0; stable < 100 && i < 3000; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::lock_guard<std::mutex> lock(host_.mutex);
    stable = c.body_offset == read && read > 0 ? stable + 1 : 0;
    read = c.body_offset;
  }
  measure = true;
  ASSERT_TRUE(host_.wait_done(c));
  ASSERT_GE(content_in_socket.load(), 0);
  EXPECT_GT(static_cast<long long>(read) - content_in_socket.load(), 10000)
      << read << " bytes read from the client, " << content_in_socket.load() << " in the socket";
  EXPECT_LT(read, c.body.size()); // the bridge did stall the upload
  EXPECT_EQ(c.output, "ok");
  EXPECT_EQ(c.done_calls, 1);
  EXPECT_LE(c.max_async_in_flight, 1);
}
