// A pool of host threads that grows on demand, as IIS's does: when a task has waited
// `inject_after` with no thread idle (the others are blocked inside the extension, in a
// synchronous ReadClient or WriteClient), a supervising thread starts one more, up to a cap.
// Waiting first keeps a burst of short tasks from growing the pool. The host keeps two: one for
// HttpExtensionProc, one for I/O completions, so completions never queue behind blocked
// HttpExtensionProc calls. Tasks never run inline inside the call that posted them.
#ifndef KALLITHEA_ISAPI_HOST_THREAD_POOL_H
#define KALLITHEA_ISAPI_HOST_THREAD_POOL_H

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace isapi_host {

class ThreadPool {
public:
  using clock = std::chrono::steady_clock;

  /// Starts `min_threads` threads at once; grows to at most `max_threads`.
  ThreadPool(unsigned min_threads, unsigned max_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  /// How post() treats the pool's sleeping threads.
  enum class Wake {
    now,  ///< wake one for the task
    later ///< leave them asleep: the poster calls wake() soon, once for a batch of posts
  };

  /// Any thread. `label` names the task in a blocked-thread warning. Returns false once
  /// stop() has begun (the task is dropped).
  bool post(std::function<void()> task, std::string label, Wake wake = Wake::now);

  /// Any thread: wakes a sleeping thread when tasks posted with Wake::later are waiting.
  /// A thread that takes a task and finds more queued wakes the next one, so a batch
  /// spreads over the idle threads without one wake per task.
  void wake();

  /// Runs the queued tasks, then joins the threads. Not from a pool thread.
  void stop();

  /// Any thread: waits until no task is queued or running, up to `deadline`; false when
  /// it passed first.
  bool wait_idle(clock::time_point deadline);

  /// Any thread: how many threads the pool has started.
  std::size_t size();

  /// A task that has been running for longer than a limit.
  struct Blocked {
    std::string label;
    clock::duration running;
  };
  /// Any thread: tasks running longer than `limit`, each reported once.
  std::vector<Blocked> newly_blocked(clock::duration limit);

private:
  struct Worker {
    std::thread thread;
    bool busy = false;
    bool reported = false;
    clock::time_point busy_since{};
    std::string label;
  };

  struct Task {
    std::function<void()> run;
    std::string label;
    clock::time_point queued;
  };

  void start_worker_locked();
  void run(Worker* self);
  void supervise();

  const unsigned max_threads_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_changed_; ///< a task finished (wait_idle)
  std::condition_variable supervisor_wake_;
  std::deque<Task> tasks_;
  std::thread supervisor_;
  std::list<Worker> workers_; ///< a list: each thread keeps a pointer to its entry
  std::size_t idle_ = 0;
  bool stopping_ = false;
};

} // namespace isapi_host

#endif
