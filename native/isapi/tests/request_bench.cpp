// kallithea_isapi_bench: the DLL's CPU per request, alone. Drives GET /hello through
// runtime::handle (what HttpExtensionProc calls) with the unit tests' fake host, against the
// tests' FastCGI responder running in a forked child process, so that getrusage of this
// process counts the DLL (its io threads and the calls made on the host's threads), the
// fake host and the driver, never the responder. Keeps K requests in flight (a closed loop)
// and prints CPU, context switches and allocations per request, medians of the runs.
//
// Usage: kallithea_isapi_bench [--requests N] [--runs R] [--threads T] [--in-flight 1,32]
//   --threads 0 (the default) leaves the DLL's own default. bench/dll/run.sh builds and runs
//   it; not part of npm test (it measures, it does not assert).
#include "fake_host.hpp"
#include "fake_responder.hpp"
#include "runtime/runtime.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <map>
#include <memory>
#include <new>
#include <pthread.h>
#include <signal.h>
#include <string>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <vector>

/// Every operator new in this process (the DLL's code is linked in): allocations per request
/// are a figure the shared machine's noise does not blur.
std::atomic<std::uint64_t> allocations{0};

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

namespace {

kallithea_isapi::runtime* current = nullptr;

DWORD WINAPI proc(EXTENSION_CONTROL_BLOCK* ecb) {
  return current->handle(ecb);
}

struct options {
  unsigned requests = 20000;
  unsigned runs = 3;
  unsigned threads = 0;
  std::vector<unsigned> in_flight{1, 32};
};

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

/// A request as a browser's GET sends it: the server variables the DLL copies into PARAMS.
void fill(fake::connection& c) {
  c.path_info = "/hello";
  c.variables = {
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
}

/// Clears what the extension did, so one connection object serves request after request.
void reuse(fake::connection& c) {
  c.status.clear();
  c.headers.clear();
  c.output.clear();
  c.done_calls = 0;
  c.done_status = 0;
  c.callback = nullptr;
  c.context = nullptr;
}

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

struct sample {
  double cpu_us = 0;      ///< process CPU per request (DLL + fake host + driver)
  double host_us = 0;     ///< of it, the fake host's completion thread
  double driver_us = 0;   ///< of it, the driver thread (HttpExtensionProc runs there)
  double switches = 0;    ///< context switches per request, process-wide
  double waits = 0;       ///< of them, voluntary: a thread slept (a wake-up to come)
  double wall_us = 0;     ///< wall time per request (noisy on a shared machine)
  double allocations = 0; ///< operator new calls per request, process-wide
  unsigned failures = 0;  ///< responses that were not "hello"
  std::string sleeps;     ///< voluntary switches per request of each busy thread
};

/// Runs `n` requests with `k` in flight.
sample run(fake::host& host, std::vector<fake::connection>& conns, unsigned k, unsigned n) {
  rusage before{}, after{};
  double host_before = thread_cpu(host.completion_thread());
  double driver_before = thread_cpu(pthread_self());
  timespec wall_before{}, wall_after{};
  clock_gettime(CLOCK_MONOTONIC, &wall_before);
  std::uint64_t allocations_before = allocations.load();
  std::map<long, long> sleeps_before = sleeps_by_thread();
  getrusage(RUSAGE_SELF, &before);
  unsigned started = 0, finished = 0, failures = 0;
  std::vector<fake::connection*> ready;
  for (unsigned i = 0; i < k && started < n; ++i, ++started) {
    reuse(conns[i]);
    host.run(conns[i], proc);
  }
  while (finished < n) {
    ready.clear();
    {
      std::unique_lock<std::mutex> lock(host.mutex);
      host.changed.wait(lock, [&] {
        for (unsigned i = 0; i < k; ++i)
          if (conns[i].done_calls > 0)
            ready.push_back(&conns[i]);
        return !ready.empty();
      });
    }
    for (fake::connection* c : ready) {
      ++finished;
      if (c->output != "hello")
        ++failures;
      reuse(*c);
      if (started < n) {
        ++started;
        host.run(*c, proc);
      }
    }
  }
  getrusage(RUSAGE_SELF, &after);
  std::map<long, long> sleeps_after = sleeps_by_thread();
  std::uint64_t allocations_after = allocations.load();
  clock_gettime(CLOCK_MONOTONIC, &wall_after);
  sample s;
  double cpu = seconds(after.ru_utime) + seconds(after.ru_stime) - seconds(before.ru_utime) -
               seconds(before.ru_stime);
  s.cpu_us = cpu * 1e6 / n;
  s.host_us = (thread_cpu(host.completion_thread()) - host_before) * 1e6 / n;
  s.driver_us = (thread_cpu(pthread_self()) - driver_before) * 1e6 / n;
  s.switches = static_cast<double>((after.ru_nvcsw + after.ru_nivcsw) -
                                   (before.ru_nvcsw + before.ru_nivcsw)) /
               n;
  s.waits = static_cast<double>(after.ru_nvcsw - before.ru_nvcsw) / n;
  s.wall_us = (static_cast<double>(wall_after.tv_sec - wall_before.tv_sec) * 1e6 +
               static_cast<double>(wall_after.tv_nsec - wall_before.tv_nsec) / 1e3) /
              n;
  s.allocations = static_cast<double>(allocations_after - allocations_before) / n;
  for (auto& [tid, count] : sleeps_after) {
    double per = static_cast<double>(count - sleeps_before[tid]) / n;
    if (per >= 0.01) {
      char item[48];
      std::snprintf(item, sizeof item, " %s%ld:%.2f", tid == getpid() ? "driver " : "", tid, per);
      s.sleeps += item;
    }
  }
  s.failures = failures;
  return s;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

} // namespace

int main(int argc, char** argv) {
  options o = parse(argc, argv);
  char templ[] = "/tmp/kallithea-isapi-bench-XXXXXX";
  std::string dir = mkdtemp(templ);
  std::string socket = dir + "/b.sock";
  std::ofstream(dir + "/secret") << "s3cret\n";
  std::ofstream(dir + "/kallithea-isapi.ini")
      << "[isapi]\nmode = connect\nbridge_address = unix:" << socket
      << "\nsecret_file = secret\nthreads = " << o.threads << "\n";

  // The responder in its own process, forked before any thread exists; it lives until the
  // pipe closes (this process exiting, however it exits).
  int ready_pipe[2], life_pipe[2];
  if (pipe(ready_pipe) != 0 || pipe(life_pipe) != 0)
    return 1;
  pid_t child = fork();
  if (child == 0) {
    close(ready_pipe[0]);
    close(life_pipe[1]);
    {
      fake::responder responder(socket, "s3cret");
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
  char byte = 0;
  if (read(ready_pipe[0], &byte, 1) != 1) {
    std::fprintf(stderr, "the responder did not start\n");
    return 1;
  }

  int status = 0;
  {
    fake::host host;
    auto rt = std::make_unique<kallithea_isapi::runtime>(dir + "/kallithea-isapi.ini", dir);
    rt->start();
    current = rt.get();
    unsigned most = *std::max_element(o.in_flight.begin(), o.in_flight.end());
    std::vector<fake::connection> conns(most);
    for (auto& c : conns)
      fill(c);
    run(host, conns, most, 2000); // warm-up: connections opened, windows pooled
    std::printf("kallithea_isapi_bench: GET /hello (5-byte body), %u requests per run, %u runs, "
                "threads = %s\n",
                o.requests, o.runs, o.threads ? std::to_string(o.threads).c_str() : "default");
    for (unsigned k : o.in_flight) {
      std::vector<double> cpu, host_cpu, driver, switches, waits, wall, allocs;
      unsigned failures = 0;
      for (unsigned r = 0; r < o.runs; ++r) {
        sample s = run(host, conns, k, o.requests);
        cpu.push_back(s.cpu_us);
        host_cpu.push_back(s.host_us);
        driver.push_back(s.driver_us);
        switches.push_back(s.switches);
        waits.push_back(s.waits);
        wall.push_back(s.wall_us);
        allocs.push_back(s.allocations);
        failures += s.failures;
        std::printf("  in flight %2u run %u: cpu %.2f us/req (fake host %.2f, driver %.2f), "
                    "%.2f switches/req (%.2f voluntary), %.1f allocations/req, wall %.2f us/req; "
                    "sleeps/req by thread:%s\n",
                    k, r + 1, s.cpu_us, s.host_us, s.driver_us, s.switches, s.waits, s.allocations,
                    s.wall_us, s.sleeps.c_str());
      }
      std::printf("in flight %2u median: cpu %.2f us/req (fake host %.2f, driver %.2f), "
                  "%.2f switches/req (%.2f voluntary), %.1f allocations/req, wall %.2f us/req%s\n",
                  k, median(cpu), median(host_cpu), median(driver), median(switches), median(waits),
                  median(allocs), median(wall), failures ? " FAILURES" : "");
      if (failures)
        status = 1;
    }
    std::fflush(stdout);
    rt->stop();
    current = nullptr;
  }
  close(life_pipe[1]);
  waitpid(child, nullptr, 0);
  std::system(("rm -rf " + dir).c_str());
  return status;
}
