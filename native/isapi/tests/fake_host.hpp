// A small in-process ISAPI host for the DLL's unit tests: ECBs with real callbacks, async
// completions on a host thread (never inline), and a record of what the extension did.
// The full host (isapi-host, native/host) is exercised by test/e2e.
#pragma once

#include <isapi/abi.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

namespace fake {

/// One request as the host sees it.
struct connection {
  EXTENSION_CONTROL_BLOCK ecb{};
  std::map<std::string, std::string> variables;
  std::string method = "GET", path_info = "/", query, content_type;
  std::string body;                                  ///< the whole request body
  std::size_t preread = 0;                           ///< bytes of body in lpbData
  bool unknown_length = false;                       ///< cbTotalBytes = 0xFFFFFFFF
  std::size_t client_gone_after = std::string::npos; ///< reads return 0 past this offset
  std::size_t write_fails_after = std::string::npos; ///< WriteClient errors past this many bytes
  bool client_left = false;      ///< HSE_REQ_IS_CONNECTED says FALSE (set under host::mutex)
  std::string throw_on_variable; ///< GetServerVariable of this name throws (a failing host)
  /// Runs on the completion thread before the completion of WriteClient number `index`
  /// (from 0) is reported: a slow client sleeps here, a test holds a write here.
  std::function<void(std::size_t index)> write_gate;
  std::size_t writes = 0; ///< writes (WriteClient or HSE_REQ_VECTOR_SEND) so far
  /// Runs inside HSE_REQ_DONE_WITH_SESSION, on the extension's thread, under host::mutex:
  /// what the host could do next at once (start another request) sees the DLL's state here.
  std::function<void()> on_done;

  // What the extension did.
  std::string status, headers, output;
  bool keep_conn_header = false;
  int vector_sends = 0; ///< HSE_REQ_VECTOR_SEND calls (the head with the first body bytes)
  bool closed = false;
  int done_calls = 0;
  DWORD done_status = 0;
  int async_in_flight = 0, max_async_in_flight = 0;
  std::size_t body_offset = 0;
  std::set<std::thread::id> variable_threads; ///< where GetServerVariable was called

  PFN_HSE_IO_COMPLETION callback = nullptr;
  void* context = nullptr;
};

class host {
public:
  host();
  ~host();
  /// Fills the ECB and calls HttpExtensionProc; `c` must outlive DONE.
  DWORD run(connection& c, PFN_HTTPEXTENSIONPROC proc);
  /// Waits until DONE_WITH_SESSION was called for `c` (false on timeout).
  bool wait_done(connection& c, int seconds = 20);

  void post(std::function<void()> f);
  /// The thread completions run on (the DLL's benchmark reads its CPU time).
  std::thread::native_handle_type completion_thread() { return thread_.native_handle(); }
  std::mutex mutex;
  std::condition_variable changed;

private:
  std::thread thread_;
  std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
};

} // namespace fake
