// The host's own threads: HttpExtensionProc and every I/O completion run here, never on
// the JavaScript thread and never inline inside the call that started the I/O.
#ifndef KALLITHEA_ISAPI_HOST_THREAD_POOL_H
#define KALLITHEA_ISAPI_HOST_THREAD_POOL_H

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace isapi_host {

class ThreadPool {
public:
  explicit ThreadPool(unsigned threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  /// Any thread. Returns false once stop() has begun (the task is dropped).
  bool post(std::function<void()> task);

  /// Runs the queued tasks, then joins the threads. Not from a pool thread.
  void stop();

  /// True on one of this pool's threads.
  bool on_pool_thread() const;

private:
  void run();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;
  std::vector<std::thread> threads_;
  bool stopping_ = false;
};

} // namespace isapi_host

#endif
