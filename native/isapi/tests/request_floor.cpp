// kallithea_isapi_floor: the floor under kallithea_isapi_bench, what the DLL's model must do
// per request with none of the DLL's logic, measured the same way (bench_support), for
// bench/dll/run.sh to print beside the DLL's figures: how much of the DLL's cost is the
// model's (threads, handoffs, syscalls on this machine) and how much is the DLL's own.
//
// Per request, as in the bench: the driver thread is the IIS thread (HttpExtensionProc runs
// on it there): it writes the request's opening bytes, the same bytes the DLL sends for the
// bench's GET /hello (BEGIN_REQUEST + PARAMS + empty PARAMS + empty STDIN, encoded once at
// start), in one write to a pooled Unix socket, and sleeps. An io thread waits in epoll and
// reads until the whole answer of fake::responder is in (the same child process and the same
// three writes the DLL reads), without parsing it, then hands the completion to the
// completion thread (the fake host's, which reports WriteClient's completion), which marks
// the request done (DONE_WITH_SESSION) and wakes the driver. So at one in flight, three
// sleeps per request (driver, io, completion), as the DLL's; the syscalls are the fewest
// that model allows: one write, epoll_wait and a read per arrival, the futex wakes.
// Connections are bound to io threads round robin, one thread per CPU by default, as the
// DLL's are. --handoffs 2: the io thread marks the request done itself (no completion
// thread), the floor of a design with one handoff fewer; --handoffs 1: the driver waits in
// epoll and reads the answers itself (no io thread either), what the round trip to the
// responder alone costs this process. POSIX only (Linux epoll); not part of npm test (it
// measures, it does not assert).
//
// Usage: kallithea_isapi_floor [--requests N] [--runs R] [--threads T] [--in-flight 1,32]
//                              [--handoffs 3|2|1]
#include "bench_support.hpp"
#include "fake_responder.hpp"
#include "fastcgi/params.hpp"

#include <algorithm>
#include <array>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

namespace kf = kallithea_isapi::fastcgi;

const char* const secret = "s3cret";

/// The opening bytes the DLL sends for the bench's request: the same pairs (the fake
/// host's server variables, those it adds, the request's own, the secret), so the same size.
std::string request_bytes() {
  kf::params_stream p;
  for (const auto& [name, value] : bench::variables())
    p.add(name, value);
  for (const char* name : {"URL", "UNENCODED_URL"})
    p.add(name, bench::path);
  p.add("SERVER_PROTOCOL", "HTTP/1.1");
  p.add("REQUEST_METHOD", "GET");
  p.add("PATH_INFO", bench::path);
  p.add("QUERY_STRING", "");
  p.add("CONTENT_LENGTH", "0");
  p.add("GATEWAY_INTERFACE", "CGI/1.1");
  p.add("KALLITHEA_ISAPI_SECRET", secret);
  kallithea_isapi::byte_buffer spill;
  kf::byte_range r = p.frame(true, spill);
  return std::string(reinterpret_cast<const char*>(r.data), r.size);
}

/// One pooled connection and the request on it.
struct slot {
  int fd = -1;
  std::size_t got = 0; ///< answer bytes read so far (the io thread's alone)
  bool failed = false; ///< the answer was not the expected size (set before the handoff)
  bool done = false;   ///< the request ended (under model::mutex_)
};

class model {
public:
  model(const std::string& socket, unsigned connections, unsigned io_threads, unsigned handoffs)
      : request_(request_bytes()), answer_size_(fake::responder::hello_answer().size()),
        slots_(connections), handoffs_(handoffs) {
    if (handoffs == 1)
      io_threads = 1; // its epoll is the driver's, and no thread runs io_loop
    for (unsigned i = 0; i < io_threads; ++i) {
      int ep = epoll_create1(EPOLL_CLOEXEC);
      epoll_event stop{};
      stop.events = EPOLLIN;
      stop.data.ptr = nullptr; // the stop event
      epoll_ctl(ep, EPOLL_CTL_ADD, stop_fd_, &stop);
      epolls_.push_back(ep);
    }
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      slot& s = slots_[i];
      s.fd = connect_to(socket);
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLET; // registered once, as asio does
      ev.data.ptr = &s;
      epoll_ctl(epolls_[i % epolls_.size()], EPOLL_CTL_ADD, s.fd, &ev);
    }
    completion_ = std::thread([this] { complete_loop(); });
    for (int ep : epolls_)
      if (handoffs_ != 1)
        io_.emplace_back([this, ep] { io_loop(ep); });
  }

  ~model() {
    std::uint64_t one = 1;
    if (write(stop_fd_, &one, sizeof one) != sizeof one)
      std::abort();
    for (auto& t : io_)
      t.join();
    {
      std::lock_guard<std::mutex> lock(queue_mutex_);
      stopping_ = true;
    }
    queue_cv_.notify_one();
    completion_.join();
    for (slot& s : slots_)
      close(s.fd);
    for (int ep : epolls_)
      close(ep);
    close(stop_fd_);
  }

  std::size_t request_size() const { return request_.size(); }
  std::size_t answer_size() const { return answer_size_; }

  /// Runs `n` requests with `k` in flight, on the calling (driver) thread.
  bench::sample run(unsigned k, unsigned n) {
    bench::meter m(completion_.native_handle());
    unsigned started = 0, finished = 0, failures = 0;
    std::vector<slot*> ended;
    for (unsigned i = 0; i < k && started < n; ++i, ++started)
      send(slots_[i]);
    while (finished < n) {
      ended.clear();
      if (handoffs_ == 1)
        read_answers(ended);
      else
        wait_for_done(k, ended);
      for (slot* s : ended) {
        ++finished;
        if (s->failed)
          ++failures;
        if (started < n) {
          ++started;
          send(*s);
        }
      }
    }
    bench::sample s = m.finish(n);
    s.failures = failures;
    return s;
  }

private:
  /// Sleeps until requests of the first `k` slots were marked done (DONE_WITH_SESSION).
  void wait_for_done(unsigned k, std::vector<slot*>& ended) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] {
      for (unsigned i = 0; i < k; ++i)
        if (slots_[i].done)
          ended.push_back(&slots_[i]);
      return !ended.empty();
    });
    for (slot* s : ended)
      s->done = false;
  }

  /// --handoffs 1: the driver waits in epoll and reads the answers itself.
  void read_answers(std::vector<slot*>& ended) {
    epoll_event events[64];
    int count = epoll_wait(epolls_.front(), events, 64, -1);
    for (int i = 0; i < count; ++i) {
      auto* s = static_cast<slot*>(events[i].data.ptr);
      if (s && take(*s, *driver_buffer_))
        ended.push_back(s);
    }
  }

  /// Where a thread reads answers into (never looked at).
  using read_buffer = std::array<char, 65536>;

  /// Reads what arrived on `s`; true once the whole answer is in (then ready for the next).
  bool take(slot& s, read_buffer& buffer) {
    // One read takes all there is (the buffer is far larger than an answer): with an
    // edge-triggered registration the next bytes bring the next event.
    ssize_t r = read(s.fd, buffer.data(), buffer.size());
    if (r <= 0) {
      std::fprintf(stderr, "the responder closed a connection\n");
      std::exit(1);
    }
    s.got += static_cast<std::size_t>(r);
    if (s.got < answer_size_)
      return false;
    s.failed = s.got != answer_size_;
    s.got = 0;
    return true;
  }

  static int connect_to(const std::string& path) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
    if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
      std::perror("connect");
      std::exit(1);
    }
    return fd;
  }

  /// The IIS thread's part: the request in one write (a few hundred bytes always fit).
  void send(slot& s) {
    ssize_t n = ::send(s.fd, request_.data(), request_.size(), MSG_NOSIGNAL);
    if (n != static_cast<ssize_t>(request_.size())) {
      std::perror("send");
      std::exit(1);
    }
  }

  void io_loop(int ep) {
    epoll_event events[64];
    read_buffer buffer;
    for (;;) {
      int n = epoll_wait(ep, events, 64, -1);
      for (int i = 0; i < n; ++i) {
        auto* s = static_cast<slot*>(events[i].data.ptr);
        if (!s)
          return;
        if (!take(*s, buffer))
          continue;
        if (handoffs_ == 2) {
          done(*s);
          continue;
        }
        {
          std::lock_guard<std::mutex> lock(queue_mutex_);
          queue_.push_back(s);
        }
        queue_cv_.notify_one();
      }
    }
  }

  /// DONE_WITH_SESSION, one host call per request: the driver may start the next one.
  void done(slot& s) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      s.done = true;
    }
    changed_.notify_all();
  }

  void complete_loop() {
    std::vector<slot*> batch;
    std::unique_lock<std::mutex> lock(queue_mutex_);
    for (;;) {
      queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty())
        return;
      batch.swap(queue_);
      lock.unlock();
      for (slot* s : batch)
        done(*s);
      batch.clear();
      lock.lock();
    }
  }

  const std::string request_;
  const std::size_t answer_size_;
  std::vector<slot> slots_;
  const unsigned handoffs_;
  std::unique_ptr<read_buffer> driver_buffer_ = std::make_unique<read_buffer>();

  int stop_fd_ = eventfd(0, EFD_CLOEXEC);
  std::vector<int> epolls_;

  std::mutex mutex_; ///< the driver's: slot::done
  std::condition_variable changed_;
  std::mutex queue_mutex_; ///< io threads -> completion thread
  std::condition_variable queue_cv_;
  std::vector<slot*> queue_;
  bool stopping_ = false;

  std::thread completion_;
  std::vector<std::thread> io_;
};

} // namespace

int main(int argc, char** argv) {
  bench::options o = bench::parse(argc, argv);
  bench::scratch_dir dir("kallithea-isapi-floor");
  std::string socket = dir.path() + "/f.sock";
  bench::responder_process responder(socket, secret); // before any thread exists
  unsigned most = *std::max_element(o.in_flight.begin(), o.in_flight.end());
  model m(socket, most, o.threads ? o.threads : bench::default_threads(), o.handoffs);
  m.run(most, 2000); // warm-up, as the bench's
  std::printf("kallithea_isapi_floor: the model alone, %zu-byte request, %zu-byte answer, "
              "%u handoffs, %u requests per run, %u runs, threads = %s\n",
              m.request_size(), m.answer_size(), o.handoffs, o.requests, o.runs,
              o.threads ? std::to_string(o.threads).c_str() : "default");
  std::fflush(stdout);
  return bench::measure(o, [&](unsigned k, unsigned n) { return m.run(k, n); }) ? 0 : 1;
}
