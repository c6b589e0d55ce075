#include "body_buffer.h"

#include <algorithm>
#include <cstring>

namespace isapi_host {

void BodyBuffer::append(const std::uint8_t* data, std::size_t size) {
  if (size == 0)
    return;
  chunks_.emplace_back(data, data + size);
  size_ += size;
}

std::size_t BodyBuffer::take(std::uint8_t* out, std::size_t size) {
  std::size_t copied = 0;
  while (copied < size && !chunks_.empty()) {
    const auto& front = chunks_.front();
    const std::size_t n = std::min(size - copied, front.size() - front_offset_);
    std::memcpy(out + copied, front.data() + front_offset_, n);
    copied += n;
    front_offset_ += n;
    if (front_offset_ == front.size()) {
      chunks_.pop_front();
      front_offset_ = 0;
    }
  }
  size_ -= copied;
  return copied;
}

} // namespace isapi_host
