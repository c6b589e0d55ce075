// Spare request windows. Every request needs two or three 64 KiB buffers; allocating them
// per request cost a 64 KiB zero fill each and, once freed, page faults as the heap was
// trimmed and grown again. Returned buffers are kept (up to a bound) and handed out as they
// are: a window's bytes are always written before they are read.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

namespace kallithea_isapi {

class window_pool {
public:
  using buffer = std::vector<std::uint8_t>;

  /// `size`: every buffer handed out has at least this size; `keep`: spares kept at most.
  window_pool(std::size_t size, std::size_t keep) : size_(size), keep_(keep) {}

  /// Any thread. A buffer of at least size() bytes (contents unspecified).
  buffer get();

  /// Any thread. Takes back a buffer from get() (an empty one is ignored).
  void put(buffer&& b);

  std::size_t size() const { return size_; }

  /// Buffers handed out by get() and not yet put back (any thread; for logs and tests).
  std::size_t in_use() const { return in_use_; }

private:
  const std::size_t size_;
  const std::size_t keep_;
  std::mutex mutex_;
  std::vector<buffer> spare_;
  std::atomic<std::size_t> in_use_{0};
};

} // namespace kallithea_isapi
