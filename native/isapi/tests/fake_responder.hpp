// A small FastCGI responder for the DLL's unit tests (POSIX, a thread per connection), whose
// behaviour is chosen by PATH_INFO. The real bridge host is exercised by test/e2e.
#pragma once

#include "scripted_responder.hpp"

#include <atomic>
#include <string>

namespace fake {

class responder {
public:
  responder(std::string socket_path, std::string secret);
  ~responder() { stopping_ = true; } // before server_ joins: /hang returns
  /// The bytes of the answer to /hello (written as three writes: STDOUT, the empty STDOUT,
  /// END_REQUEST), for a bench that must wait for all of it without parsing it.
  static std::string hello_answer();
  std::atomic<int> connections{0};
  std::atomic<int> requests{0};
  std::atomic<int> aborts{0};
  std::atomic<int> bad_secret{0};

private:
  void serve(int fd);
  std::string secret_;
  std::atomic<bool> stopping_{false};
  /// Last: its destructor joins the threads that run serve().
  scripted_responder server_;
};

} // namespace fake
