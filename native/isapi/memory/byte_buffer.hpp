// A growable run of bytes whose resize() leaves new bytes as they are, for buffers always
// written before they are read: growing the PARAMS stream by the room a server variable may
// need, or by the next pair, costs no zero fill (a value-initialising resize was a visible
// share of a request's cost) and no per-byte construction loop, only a size change.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

namespace kallithea_isapi {

class byte_buffer {
public:
  byte_buffer() = default;
  byte_buffer(byte_buffer&&) noexcept = default;
  byte_buffer& operator=(byte_buffer&&) noexcept = default;

  std::uint8_t* data() { return bytes_.get(); }
  const std::uint8_t* data() const { return bytes_.get(); }
  std::size_t size() const { return size_; }
  std::size_t capacity() const { return capacity_; }
  bool empty() const { return size_ == 0; }

  /// Makes room for `n` bytes, keeping the ones there.
  void reserve(std::size_t n) {
    if (n <= capacity_)
      return;
    std::unique_ptr<std::uint8_t[]> grown(new std::uint8_t[n]); // default-initialised
    if (size_ > 0)
      std::memcpy(grown.get(), bytes_.get(), size_);
    bytes_ = std::move(grown);
    capacity_ = n;
  }

  /// Sets the size; bytes beyond the old size are unspecified until written.
  void resize(std::size_t n) {
    if (n > capacity_)
      reserve(n > 2 * capacity_ ? n : 2 * capacity_);
    size_ = n;
  }

private:
  std::unique_ptr<std::uint8_t[]> bytes_;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

} // namespace kallithea_isapi
