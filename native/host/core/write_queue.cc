#include "write_queue.h"

namespace isapi_host {

namespace {
// Sequence numbers wrap after 2^32 writes; compare them by distance.
bool not_after(std::uint32_t seq, std::uint32_t mark) {
  return static_cast<std::int32_t>(mark - seq) >= 0;
}
} // namespace

WriteQueue::Write WriteQueue::push(std::size_t size, bool await) {
  const std::uint32_t seq = ++posted_;
  bytes_posted_ += size;
  if (!await && queued() <= watermark_)
    return {seq, Ack::native};
  awaited_.push_back({seq, bytes_posted_});
  return {seq, Ack::awaited};
}

void WriteQueue::taken(std::uint32_t seq) {
  if (!not_after(seq, posted_) || not_after(seq, taken_))
    return; // not one of ours, or already covered by a later acknowledgement
  taken_ = seq;
  std::size_t covered = 0;
  while (covered < awaited_.size() && not_after(awaited_[covered].seq, seq)) {
    bytes_taken_ = awaited_[covered].end;
    ++covered;
  }
  awaited_.erase(awaited_.begin(), awaited_.begin() + static_cast<std::ptrdiff_t>(covered));
}

bool WriteQueue::taken_through(std::uint32_t seq) const {
  return not_after(seq, taken_);
}

} // namespace isapi_host
