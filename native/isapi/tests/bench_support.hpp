// What kallithea_isapi_bench (the DLL) and kallithea_isapi_floor (the model's floor, no DLL)
// share, so that their figures are taken the same way and can be put side by side: options,
// the responder in a child process, the request both send, and the per-request meter (CPU of
// the process and of the driver and completion threads, context switches, sleeps by
// thread, allocations, wall time). POSIX only, like the benches.
#pragma once

#include <functional>
#include <map>
#include <pthread.h>
#include <string>
#include <sys/resource.h>
#include <sys/types.h>
#include <time.h>
#include <vector>

namespace bench {

struct options {
  unsigned requests = 20000;
  unsigned runs = 3;
  unsigned threads = 0; ///< io threads; 0: the DLL's default (one per CPU)
  std::vector<unsigned> in_flight{1, 32};
  /// kallithea_isapi_floor only: 3 (the model: io thread -> completion thread -> driver),
  /// 2 (the io thread ends the request itself: what DONE_WITH_SESSION called on the io
  /// thread after a synchronous last write would cost), or 1 (the driver reads the answers
  /// itself: the round trip alone).
  unsigned handoffs = 3;
};

/// --requests N --runs R --threads T --in-flight 1,32 --handoffs 3|2|1; exits with 2 on
/// anything else.
options parse(int argc, char** argv);

/// io threads when --threads is 0: the DLL's default, one per CPU.
unsigned default_threads();

/// The path both benches request, and the answer fake::responder gives it.
extern const char* const path;

/// The server variables of a browser's GET, as the fake host hands them to the DLL (the
/// ones fake::host::run adds come on top).
const std::map<std::string, std::string>& variables();

/// A fresh folder under /tmp for the sockets and files of one bench, removed at the end.
class scratch_dir {
public:
  explicit scratch_dir(const char* name);
  ~scratch_dir();
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;
  const std::string& path() const { return path_; }

private:
  std::string path_;
};

/// fake::responder serving `socket` with `secret` in a forked child (fork before any thread
/// exists); it lives until this object goes or the process exits, however it exits.
class responder_process {
public:
  responder_process(const std::string& socket, const std::string& secret);
  ~responder_process();
  responder_process(const responder_process&) = delete;
  responder_process& operator=(const responder_process&) = delete;

private:
  pid_t child_ = -1;
  int life_fd_ = -1; ///< closing it ends the child
};

struct sample {
  double cpu_us = 0;      ///< process CPU per request
  double host_us = 0;     ///< of it, the completion thread (the fake host's)
  double driver_us = 0;   ///< of it, the driver thread (HttpExtensionProc runs there)
  double switches = 0;    ///< context switches per request, process-wide
  double waits = 0;       ///< of them, voluntary: a thread slept (a wake-up to come)
  double wall_us = 0;     ///< wall time per request (noisy on a shared machine)
  double allocations = 0; ///< operator new calls per request, process-wide
  unsigned failures = 0;  ///< answers that were not the expected one
  std::string sleeps;     ///< voluntary switches per request of each busy thread
};

/// Figures of one run, from construction (call it on the driver thread) to finish().
class meter {
public:
  explicit meter(pthread_t completion_thread);
  sample finish(unsigned requests);

private:
  pthread_t completion_;
  double host_before_, driver_before_;
  timespec wall_before_{};
  unsigned long long allocations_before_;
  std::map<long, long> sleeps_before_;
  rusage before_{};
};

/// Runs `run(k, o.requests)` o.runs times for each in-flight count k of `o`, printing each
/// run's line and the medians' line (the format bench/dll/run.sh reads). False when an
/// answer was not the expected one.
bool measure(const options& o, const std::function<sample(unsigned k, unsigned n)>& run);

} // namespace bench
