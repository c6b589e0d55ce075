#include "runtime/io_threads.hpp"

namespace kallithea_isapi {

io_threads::io_threads(unsigned n) {
  if (n == 0)
    n = 1;
  for (unsigned i = 0; i < n; ++i) {
    contexts_.push_back(std::make_unique<context>());
    work_.emplace_back(std::nullopt);
  }
}

io_threads::~io_threads() {
  stop();
  for (auto& io : contexts_)
    io->shutdown(); // destroys queued handlers while every io_context still exists
  contexts_.clear();
}

void io_threads::start(const std::function<void(asio::io_context&)>& run) {
  for (std::size_t i = 0; i < contexts_.size(); ++i) {
    asio::io_context& io = *contexts_[i];
    work_[i].emplace(io.get_executor());
    threads_.emplace_back([run, &io] { run(io); });
  }
}

void io_threads::stop() {
  for (auto& w : work_)
    w.reset();
  for (auto& io : contexts_)
    io->stop();
  for (auto& t : threads_)
    t.join();
  threads_.clear();
}

asio::io_context& io_threads::next() {
  return *contexts_[next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size()];
}

} // namespace kallithea_isapi
