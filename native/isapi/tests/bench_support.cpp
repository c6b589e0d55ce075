#include "bench_support.hpp"

#include "fake_responder.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <fstream>
#include <new>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

/// Every operator new in the process (the DLL's code is linked into the bench): allocations
/// per request are a figure the shared machine's noise does not blur.
static std::atomic<unsigned long long> allocations{0};

void* operator new(std::size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size ? size : 1))
    return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  return operator new(size);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}

namespace bench {

const char* const path = "/hello";

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string key = argv[i], value = argv[i + 1];
    if (key == "--requests") {
      o.requests = static_cast<unsigned>(std::stoul(value));
    } else if (key == "--runs") {
      o.runs = static_cast<unsigned>(std::stoul(value));
    } else if (key == "--threads") {
      o.threads = static_cast<unsigned>(std::stoul(value));
    } else if (key == "--handoffs" && (value == "1" || value == "2" || value == "3")) {
      o.handoffs = static_cast<unsigned>(std::stoul(value));
    } else if (key == "--in-flight") {
      o.in_flight.clear();
      for (std::size_t pos = 0; pos < value.size();) {
        std::size_t comma = value.find(',', pos);
        if (comma == std::string::npos)
          comma = value.size();
        o.in_flight.push_back(static_cast<unsigned>(std::stoul(value.substr(pos, comma - pos))));
        pos = comma + 1;
      }
    } else {
      std::fprintf(stderr, "unknown option %s\n", key.c_str());
      std::exit(2);
    }
  }
  return o;
}

unsigned default_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 2 : n;
}

const std::map<std::string, std::string>& variables() {
  static const std::map<std::string, std::string> v = {
      {"ALL_RAW", "Host: localhost:29500\r\nUser-Agent: kallithea-isapi-bench\r\nAccept: "
                  "text/html,application/xhtml+xml\r\nAccept-Encoding: gzip, deflate\r\n"
                  "Accept-Language: en\r\nCookie: kallithea=0123456789abcdef0123456789abcdef\r\n"},
      {"APPL_MD_PATH", "/LM/W3SVC/1/ROOT"},
      {"APPL_PHYSICAL_PATH", "C:\\inetpub\\kallithea\\"},
      {"HTTPS", "off"},
      {"SERVER_NAME", "localhost"},
      {"SERVER_PORT", "29500"},
      {"SERVER_SOFTWARE", "Microsoft-IIS/10.0"},
      {"SERVER_PORT_SECURE", "0"},
      {"REMOTE_ADDR", "127.0.0.1"},
      {"REMOTE_PORT", "51234"},
      {"REMOTE_HOST", "127.0.0.1"},
      {"AUTH_TYPE", ""},
      {"REMOTE_USER", ""},
      {"INSTANCE_ID", "1"},
  };
  return v;
}

scratch_dir::scratch_dir(const char* name) {
  std::string templ = std::string("/tmp/") + name + "-XXXXXX";
  if (!mkdtemp(templ.data())) {
    std::perror("mkdtemp");
    std::exit(1);
  }
  path_ = templ;
}

scratch_dir::~scratch_dir() {
  std::system(("rm -rf " + path_).c_str());
}

responder_process::responder_process(const std::string& socket, const std::string& secret) {
  int ready_pipe[2], life_pipe[2];
  if (pipe(ready_pipe) != 0 || pipe(life_pipe) != 0) {
    std::perror("pipe");
    std::exit(1);
  }
  child_ = fork();
  if (child_ == 0) {
    close(ready_pipe[0]);
    close(life_pipe[1]);
    {
      fake::responder responder(socket, secret);
      char byte = 1;
      if (write(ready_pipe[1], &byte, 1) != 1)
        _exit(1);
      while (read(life_pipe[0], &byte, 1) > 0) {
      }
    }
    _exit(0);
  }
  close(ready_pipe[1]);
  close(life_pipe[0]);
  life_fd_ = life_pipe[1];
  char byte = 0;
  bool ready = read(ready_pipe[0], &byte, 1) == 1;
  close(ready_pipe[0]);
  if (!ready) {
    std::fprintf(stderr, "the responder did not start\n");
    std::exit(1);
  }
}

responder_process::~responder_process() {
  close(life_fd_);
  waitpid(child_, nullptr, 0);
}

namespace {

/// Voluntary context switches (sleeps, each a wake-up to come) of every thread of this
/// process, by thread id: where the handoffs of a request are.
std::map<long, long> sleeps_by_thread() {
  std::map<long, long> m;
  DIR* d = opendir("/proc/self/task");
  if (!d)
    return m;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.')
      continue;
    std::ifstream status(std::string("/proc/self/task/") + e->d_name + "/status");
    for (std::string line; std::getline(status, line);)
      if (line.rfind("voluntary_ctxt_switches:", 0) == 0)
        m[std::atol(e->d_name)] = std::atol(line.c_str() + 24);
  }
  closedir(d);
  return m;
}

double seconds(const timeval& t) {
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
}

double thread_cpu(pthread_t t) {
  clockid_t clock;
  timespec ts{};
  if (pthread_getcpuclockid(t, &clock) != 0 || clock_gettime(clock, &ts) != 0)
    return 0;
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

} // namespace

meter::meter(pthread_t completion_thread)
    : completion_(completion_thread), host_before_(thread_cpu(completion_thread)),
      driver_before_(thread_cpu(pthread_self())) {
  clock_gettime(CLOCK_MONOTONIC, &wall_before_);
  allocations_before_ = allocations.load();
  sleeps_before_ = sleeps_by_thread();
  getrusage(RUSAGE_SELF, &before_);
}

sample meter::finish(unsigned n) {
  rusage after{};
  getrusage(RUSAGE_SELF, &after);
  std::map<long, long> sleeps_after = sleeps_by_thread();
  unsigned long long allocations_after = allocations.load();
  timespec wall_after{};
  clock_gettime(CLOCK_MONOTONIC, &wall_after);
  sample s;
  double cpu = seconds(after.ru_utime) + seconds(after.ru_stime) - seconds(before_.ru_utime) -
               seconds(before_.ru_stime);
  s.cpu_us = cpu * 1e6 / n;
  s.host_us = (thread_cpu(completion_) - host_before_) * 1e6 / n;
  s.driver_us = (thread_cpu(pthread_self()) - driver_before_) * 1e6 / n;
  s.switches = static_cast<double>((after.ru_nvcsw + after.ru_nivcsw) -
                                   (before_.ru_nvcsw + before_.ru_nivcsw)) /
               n;
  s.waits = static_cast<double>(after.ru_nvcsw - before_.ru_nvcsw) / n;
  s.wall_us = (static_cast<double>(wall_after.tv_sec - wall_before_.tv_sec) * 1e6 +
               static_cast<double>(wall_after.tv_nsec - wall_before_.tv_nsec) / 1e3) /
              n;
  s.allocations = static_cast<double>(allocations_after - allocations_before_) / n;
  for (auto& [tid, count] : sleeps_after) {
    double per = static_cast<double>(count - sleeps_before_[tid]) / n;
    if (per >= 0.01) {
      char item[48];
      std::snprintf(item, sizeof item, " %s%ld:%.2f", tid == getpid() ? "driver " : "", tid, per);
      s.sleeps += item;
    }
  }
  return s;
}

namespace {

void print_run(unsigned k, unsigned run, const sample& s) {
  std::printf("  in flight %2u run %u: cpu %.2f us/req (fake host %.2f, driver %.2f), "
              "%.2f switches/req (%.2f voluntary), %.1f allocations/req, wall %.2f us/req; "
              "sleeps/req by thread:%s\n",
              k, run, s.cpu_us, s.host_us, s.driver_us, s.switches, s.waits, s.allocations,
              s.wall_us, s.sleeps.c_str());
  std::fflush(stdout);
}

void print_medians(unsigned k, const std::vector<sample>& runs) {
  std::vector<double> cpu, host, driver, switches, waits, wall, allocs;
  unsigned failures = 0;
  for (const sample& s : runs) {
    cpu.push_back(s.cpu_us);
    host.push_back(s.host_us);
    driver.push_back(s.driver_us);
    switches.push_back(s.switches);
    waits.push_back(s.waits);
    wall.push_back(s.wall_us);
    allocs.push_back(s.allocations);
    failures += s.failures;
  }
  std::printf("in flight %2u median: cpu %.2f us/req (fake host %.2f, driver %.2f), "
              "%.2f switches/req (%.2f voluntary), %.1f allocations/req, wall %.2f us/req%s\n",
              k, median(cpu), median(host), median(driver), median(switches), median(waits),
              median(allocs), median(wall), failures ? " FAILURES" : "");
  std::fflush(stdout);
}

} // namespace

bool measure(const options& o, const std::function<sample(unsigned k, unsigned n)>& run) {
  bool ok = true;
  for (unsigned k : o.in_flight) {
    std::vector<sample> runs;
    for (unsigned r = 0; r < o.runs; ++r) {
      runs.push_back(run(k, o.requests));
      print_run(k, r + 1, runs.back());
      ok = ok && runs.back().failures == 0;
    }
    print_medians(k, runs);
  }
  return ok;
}

} // namespace bench
