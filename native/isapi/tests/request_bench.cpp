// kallithea_isapi_bench: the DLL's CPU per request, alone. Drives GET /hello through
// runtime::handle (what HttpExtensionProc calls) with the unit tests' fake host, against the
// tests' FastCGI responder running in a forked child process, so that getrusage of this
// process counts the DLL (its io threads and the calls made on the host's threads), the
// fake host and the driver, never the responder. Keeps K requests in flight (a closed loop)
// and prints CPU, context switches and allocations per request, medians of the runs.
// kallithea_isapi_floor (request_floor.cpp) measures the same model without the DLL.
//
// Usage: kallithea_isapi_bench [--requests N] [--runs R] [--threads T] [--in-flight 1,32]
//   --threads 0 (the default) leaves the DLL's own default. bench/dll/run.sh builds and runs
//   it; not part of npm test (it measures, it does not assert).
#include "bench_support.hpp"
#include "fake_host.hpp"
#include "runtime/runtime.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

kallithea_isapi::runtime* current = nullptr;

DWORD WINAPI proc(EXTENSION_CONTROL_BLOCK* ecb) {
  return current->handle(ecb);
}

void fill(fake::connection& c) {
  c.path_info = bench::path;
  c.variables.insert(bench::variables().begin(), bench::variables().end());
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

/// Runs `n` requests with `k` in flight.
bench::sample run(fake::host& host, std::vector<fake::connection>& conns, unsigned k, unsigned n) {
  bench::meter m(host.completion_thread());
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
  bench::sample s = m.finish(n);
  s.failures = failures;
  return s;
}

} // namespace

int main(int argc, char** argv) {
  bench::options o = bench::parse(argc, argv);
  if (o.handoffs != 3) {
    std::fprintf(stderr, "--handoffs is the floor's: the DLL's model has 3\n");
    return 2;
  }
  bench::scratch_dir dir("kallithea-isapi-bench");
  std::string socket = dir.path() + "/b.sock";
  std::ofstream(dir.path() + "/secret") << "s3cret\n";
  std::ofstream(dir.path() + "/kallithea-isapi.ini")
      << "[isapi]\nmode = connect\nbridge_address = unix:" << socket
      << "\nsecret_file = secret\nthreads = " << o.threads << "\n";

  bench::responder_process responder(socket, "s3cret"); // before any thread exists
  fake::host host;
  auto rt =
      std::make_unique<kallithea_isapi::runtime>(dir.path() + "/kallithea-isapi.ini", dir.path());
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
  std::fflush(stdout);
  bool ok = bench::measure(o, [&](unsigned k, unsigned n) { return run(host, conns, k, n); });
  rt->stop();
  current = nullptr;
  return ok ? 0 : 1;
}
