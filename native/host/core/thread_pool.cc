#include "thread_pool.h"

#include <algorithm>

#if defined(__linux__)
#include <sched.h>
#endif

namespace isapi_host {

namespace {
// How long a task waits with every thread busy before the pool grows, and how often the
// supervisor looks.
constexpr auto inject_after = std::chrono::milliseconds(50);
constexpr auto supervise_every = std::chrono::milliseconds(20);

// On Linux a pool thread runs as SCHED_BATCH: woken by a post, it waits for a free CPU (or
// the next scheduler tick) instead of preempting the poster, most often the JavaScript
// thread, which then goes on through the rest of its batch of requests and events instead
// of being switched out and back for each one. bench/e2e measured ~2 context switches
// per request fewer and less host CPU per request. Best effort: a refusal leaves the
// default policy.
void run_as_batch() {
#if defined(__linux__)
  sched_param param{};
  sched_setscheduler(0, SCHED_BATCH, &param);
#endif
}
} // namespace

ThreadPool::ThreadPool(unsigned min_threads, unsigned max_threads)
    : max_threads_(std::max({1u, min_threads, max_threads})) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (unsigned i = 0; i < std::max(1u, min_threads); ++i)
    start_worker_locked();
  supervisor_ = std::thread([this] { supervise(); });
}

ThreadPool::~ThreadPool() {
  stop();
}

void ThreadPool::start_worker_locked() {
  workers_.emplace_back();
  Worker* worker = &workers_.back();
  worker->thread = std::thread([this, worker] { run(worker); });
}

bool ThreadPool::post(std::function<void()> task, std::string label, Wake wake) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_)
      return false;
    tasks_.push_back(Task{std::move(task), std::move(label), clock::now()});
  }
  if (wake == Wake::now)
    wake_.notify_one();
  return true;
}

void ThreadPool::wake() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (tasks_.empty() || idle_ == 0)
      return; // nothing waits, or every thread is busy and takes it when done
  }
  wake_.notify_one();
}

void ThreadPool::stop() {
  std::list<Worker> workers;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  supervisor_wake_.notify_all();
  const auto self = std::this_thread::get_id();
  if (supervisor_.joinable())
    supervisor_.join();
  // Threads may still be starting while others are joined: take the list under the lock,
  // one entry at a time, until it is empty.
  for (;;) {
    std::thread thread;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = std::find_if(workers_.begin(), workers_.end(),
                             [](const Worker& w) { return w.thread.joinable(); });
      if (it == workers_.end())
        break;
      thread = std::move(it->thread);
    }
    // The last owner of the host may let go on a pool thread: that thread cannot join
    // itself, it finishes its task and leaves on its own.
    if (thread.get_id() == self) {
      thread.detach();
    } else {
      thread.join();
    }
  }
}

bool ThreadPool::wait_idle(clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mutex_);
  return idle_changed_.wait_until(lock, deadline, [this] {
    return tasks_.empty() &&
           std::none_of(workers_.begin(), workers_.end(), [](const Worker& w) { return w.busy; });
  });
}

std::size_t ThreadPool::size() {
  std::lock_guard<std::mutex> lock(mutex_);
  return workers_.size();
}

std::vector<ThreadPool::Blocked> ThreadPool::newly_blocked(clock::duration limit) {
  std::vector<Blocked> blocked;
  const auto now = clock::now();
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& worker : workers_) {
    if (worker.busy && !worker.reported && now - worker.busy_since > limit) {
      worker.reported = true;
      blocked.push_back(Blocked{worker.label, now - worker.busy_since});
    }
  }
  return blocked;
}

void ThreadPool::run(Worker* self) {
  run_as_batch();
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    ++idle_;
    wake_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
    --idle_;
    if (tasks_.empty())
      return; // stopping and drained
    Task task = std::move(tasks_.front());
    tasks_.pop_front();
    // More waiting (a batch posted with one wake): the next idle thread takes them, so a
    // task that blocks in the extension holds up none of those behind it.
    const bool pass_on = !tasks_.empty() && idle_ > 0;
    self->busy = true;
    self->reported = false;
    self->busy_since = clock::now();
    self->label = std::move(task.label);
    lock.unlock();
    if (pass_on)
      wake_.notify_one();
    task.run();
    task.run = nullptr; // what the task captured goes before the thread counts as idle
    lock.lock();
    self->busy = false;
    idle_changed_.notify_all();
  }
}

// The supervising thread: one more worker when the oldest task has waited too long with
// no thread idle.
void ThreadPool::supervise() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    supervisor_wake_.wait_for(lock, supervise_every, [this] { return stopping_; });
    if (!stopping_ && !tasks_.empty() && idle_ == 0 && workers_.size() < max_threads_ &&
        clock::now() - tasks_.front().queued >= inject_after)
      start_worker_locked();
  }
}

} // namespace isapi_host
