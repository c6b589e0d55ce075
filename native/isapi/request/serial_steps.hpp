// One request's steps, one at a time, on whichever thread brings them. A step that arrives
// while none runs runs at once on the arriving thread (the IIS thread in HttpExtensionProc,
// an io thread with a bridge completion, the host's thread with an ISAPI completion): no hop
// to another thread, no wake-up. A step that arrives while another runs (on any thread,
// this one included) is queued, and the running thread takes it as soon as its step
// returns. So steps never overlap and never nest, as on a strand, but no thread waits for
// another and the common, uncontended step costs one lock and no allocation.
#pragma once

#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace kallithea_isapi {

class serial_steps {
public:
  /// Runs `step` now, or queues it behind the step that runs. `step` must not throw (the
  /// request's steps go through request::guarded) and owns what it needs (a queued step
  /// runs after the caller returned).
  template <class Step> void run(Step&& step) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (running_) {
        queued_.emplace_back(std::forward<Step>(step));
        return;
      }
      running_ = true;
      owner_ = std::this_thread::get_id();
    }
    step();
    run_queued();
  }

  /// True inside a step, on the thread running it: what that step starts and what completes
  /// inline (an idle connection handed over inside acquire) may go on directly.
  bool running_in_this_thread() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return running_ && owner_ == std::this_thread::get_id();
  }

private:
  void run_queued() {
    std::vector<std::function<void()>> batch; // in arrival order; allocates only if contended
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        batch.clear();
        batch.swap(queued_);
        if (batch.empty()) {
          running_ = false;
          owner_ = std::thread::id();
          return;
        }
      }
      for (auto& next : batch)
        next();
    }
  }

  mutable std::mutex mutex_;
  bool running_ = false;
  std::thread::id owner_;
  std::vector<std::function<void()>> queued_; ///< a vector: empty, it costs no allocation
};

} // namespace kallithea_isapi
