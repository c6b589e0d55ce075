// A FastCGI responder that breaks the protocol on purpose, for the DLL's hostile-peer tests
// (hostile_test.cpp). Requests whose PATH_INFO starts with "/hostile" get the one
// misbehaviour the responder was made with; every other request is answered correctly with
// "ok <PATH_INFO>", so a test can tell its own response from bytes meant for another.
// Its sockets and threads are a scripted_responder's; this class is the script.
#pragma once

#include "scripted_responder.hpp"

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>

namespace fake {

/// What the responder does to a "/hostile" request.
enum class misbehaviour {
  /// Answers "503" after PARAMS, before reading any STDIN, then drains the body in small
  /// reads: what the bridge does for an early 502/503 (socket.resume() after the answer).
  early_answer,
  /// Reads the request, answers, and writes a second whole response (STDOUT + END_REQUEST,
  /// body "POISON") right behind END_REQUEST, in the same write.
  trailing_response,
  /// As trailing_response, but the second response is written only when the test calls
  /// release(): after the DLL has finished the request, while the connection is idle.
  trailing_response_when_idle,
  /// Reads the request, sends the start of a response, then END_REQUEST for request id 2.
  foreign_end_request,
  /// Reads the whole request (to the empty STDIN record), then closes without a byte.
  die_after_request,
  /// Answers correctly, then closes the kept connection when the test calls release().
  close_when_idle,
  /// Reads the whole request and never answers; reads on (ABORT_REQUEST, EOF) until closed.
  stall,
  /// Reads BEGIN_REQUEST and PARAMS, then neither reads STDIN nor answers: the DLL's
  /// STDIN writes block once the socket buffer is full.
  stall_unread,
  /// Reads BEGIN_REQUEST only, answers at once, and reads nothing more until the test calls
  /// release(): a request whose PARAMS outgrow the socket buffer stays half written.
  answer_before_params,
};

class hostile_responder {
public:
  hostile_responder(std::string socket_path, std::string secret, misbehaviour m);
  ~hostile_responder();

  /// Lets the *_when_idle misbehaviours go ahead (each waiting connection once).
  void release();
  /// Waits until `n` misbehaviours were carried out (false after `seconds`).
  bool wait_misbehaved(int n, int seconds = 20);
  /// Requests with this PATH_INFO whose STDIN stream arrived whole (to its empty record).
  int complete_requests(const std::string& path);

  /// Connections accepted so far.
  int connections() const { return peer_.connections.load(); }

  std::atomic<int> begin_requests{0};
  std::atomic<int> aborts{0};
  std::atomic<int> bad_secret{0};

private:
  /// One request on `fd`; false when the connection is done with.
  bool serve_request(int fd);
  void misbehaved();
  /// Blocks until release() or the destructor; false on the latter.
  bool wait_released();

  std::string secret_;
  misbehaviour misbehaviour_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, int> complete_;
  int misbehaved_ = 0;
  int released_ = 0;
  bool stopping_ = false;
  scripted_responder peer_; ///< last: its threads stop before the state above goes
};

} // namespace fake
