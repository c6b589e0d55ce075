// The response bytes of one request on their way from the extension to the socket: what
// the host has handed to JavaScript, and what JavaScript has said the socket took.
//
// IIS returns from a synchronous WriteClient (and completes an asynchronous one) once the
// TCP stack has taken the bytes into its send buffer, not once the client has them. The
// host does the same with a watermark: while the bytes handed to JavaScript and not yet
// known taken stay within it, a write is acknowledged natively and the extension's
// thread goes on without a round trip through the JavaScript thread. A write that goes
// past it is *awaited*: JavaScript acknowledges it when the socket takes it (at once, or
// at its `drain`), and that acknowledgement covers every earlier write as well, since the
// socket takes them in order. So a slow client holds at most about one watermark plus one
// write per request in the host, however much the extension writes.
#ifndef KALLITHEA_ISAPI_HOST_WRITE_QUEUE_H
#define KALLITHEA_ISAPI_HOST_WRITE_QUEUE_H

#include <cstddef>
#include <cstdint>
#include <vector>

namespace isapi_host {

class WriteQueue {
public:
  enum class Ack {
    native,  ///< within the watermark: the extension goes on at once
    awaited, ///< past it: the extension waits for JavaScript's acknowledgement
  };
  struct Write {
    std::uint32_t seq; ///< numbers the write events of one request, from 1
    Ack ack;
  };

  explicit WriteQueue(std::size_t watermark) : watermark_(watermark) {}

  /// A write of `size` bytes is handed to JavaScript; `await` makes it awaited whatever
  /// the watermark says.
  Write push(std::size_t size, bool await = false);
  /// JavaScript: the socket took every write up to `seq`.
  void taken(std::uint32_t seq);
  /// Every write up to `seq` was taken.
  bool taken_through(std::uint32_t seq) const;
  /// Bytes handed to JavaScript and not yet known taken.
  std::uint64_t queued() const { return bytes_posted_ - bytes_taken_; }

private:
  /// Where an awaited write ends in the response: its acknowledgement moves the taken
  /// mark there.
  struct Mark {
    std::uint32_t seq;
    std::uint64_t end;
  };

  const std::size_t watermark_;
  std::uint32_t posted_ = 0;
  std::uint32_t taken_ = 0;
  std::uint64_t bytes_posted_ = 0;
  std::uint64_t bytes_taken_ = 0;
  std::vector<Mark> awaited_; ///< in order; rarely more than one
};

} // namespace isapi_host

#endif
