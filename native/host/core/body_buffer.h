// The request body bytes the host holds between the Node socket and the extension. Not
// thread-safe: the owning Request locks around it.
#ifndef KALLITHEA_ISAPI_HOST_BODY_BUFFER_H
#define KALLITHEA_ISAPI_HOST_BODY_BUFFER_H

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

namespace isapi_host {

class BodyBuffer {
public:
  void append(const std::uint8_t* data, std::size_t size);
  /// Moves up to `size` bytes into `out`; returns how many.
  std::size_t take(std::uint8_t* out, std::size_t size);
  std::size_t size() const { return size_; }

private:
  std::deque<std::vector<std::uint8_t>> chunks_;
  std::size_t front_offset_ = 0; ///< bytes of chunks_.front() already taken
  std::size_t size_ = 0;
};

} // namespace isapi_host

#endif
