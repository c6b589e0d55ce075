// A FastCGI peer whose every connection runs a script the test gives (POSIX, a thread per
// connection): for the one misbehaviour a test needs, next to the well-behaved
// fake::responder. Helpers read and write whole records.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace fake {

/// One request as the script read it.
struct fcgi_request {
  std::map<std::string, std::string> params;
  std::string body;
  bool stdin_complete = false; ///< the empty STDIN record arrived
};

class scripted_responder {
public:
  /// `script(fd, index)` runs per accepted connection (index counts from 0).
  using script = std::function<void(int fd, int index)>;
  scripted_responder(std::string socket_path, script s);
  ~scripted_responder();

  std::atomic<int> connections{0};

  /// Reads BEGIN_REQUEST and PARAMS, and the body too when `with_body`; false on EOF.
  static bool read_request(int fd, fcgi_request& out, bool with_body = true);
  /// Reads and drops records until the empty STDIN record or EOF.
  static void drain_stdin(int fd);
  /// One whole record: its type and content (padding dropped); false on EOF.
  static bool read_record(int fd, std::uint8_t& type, std::string& content);
  /// The bytes of one record (several when `content` is over 65535 bytes).
  static std::string record_bytes(std::uint8_t type, const std::string& content);
  static bool send_record(int fd, std::uint8_t type, const std::string& content);
  /// STDOUT `response`, the empty STDOUT and END_REQUEST, then the bytes `then`, in one write.
  static bool send_response(int fd, const std::string& response, const std::string& then = {});

private:
  std::string path_;
  script script_;
  int listen_fd_ = -1;
  std::thread accept_thread_;
  std::mutex mutex_;
  std::vector<std::thread> workers_;
  std::vector<int> fds_;
  std::atomic<bool> stopping_{false};
};

} // namespace fake
