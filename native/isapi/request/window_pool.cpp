#include "request/window_pool.hpp"

namespace kallithea_isapi {

window_pool::buffer window_pool::get() {
  ++in_use_;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!spare_.empty()) {
      buffer b = std::move(spare_.back());
      spare_.pop_back();
      return b;
    }
  }
  return buffer(size_);
}

void window_pool::put(buffer&& b) {
  if (b.size() < size_)
    return; // empty, or a page's small buffer: never one of ours
  --in_use_;
  buffer doomed; // freed outside the lock
  std::lock_guard<std::mutex> lock(mutex_);
  if (spare_.size() >= keep_) {
    doomed = std::move(b);
    return;
  }
  spare_.push_back(std::move(b));
}

} // namespace kallithea_isapi
