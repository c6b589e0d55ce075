// A small FastCGI responder for the DLL's unit tests (POSIX, a thread per connection), whose
// behaviour is chosen by PATH_INFO. The real bridge host is exercised by test/e2e.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace fake {

class responder {
public:
  responder(std::string socket_path, std::string secret);
  ~responder();
  std::atomic<int> connections{0};
  std::atomic<int> requests{0};
  std::atomic<int> aborts{0};
  std::atomic<int> bad_secret{0};

private:
  void serve(int fd);
  std::string path_, secret_;
  int listen_fd_ = -1;
  std::thread accept_thread_;
  std::mutex mutex_;
  std::vector<std::thread> workers_;
  std::vector<int> fds_;
  std::atomic<bool> stopping_{false};
};

} // namespace fake
