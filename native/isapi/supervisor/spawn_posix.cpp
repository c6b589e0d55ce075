// POSIX half of supervision (see child_process.hpp).
#if !defined(_WIN32)

#include "supervisor/child_process.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace kallithea_isapi {

struct child_process::impl {
  std::mutex mutex;
  bool reaped = false;
  int lifeline_write = -1; ///< closing it tells the bridge its parent is gone
};

namespace {

std::string describe_status(int st) {
  if (WIFEXITED(st))
    return "exit code " + std::to_string(WEXITSTATUS(st));
  if (WIFSIGNALED(st))
    return "signal " + std::to_string(WTERMSIG(st));
  return "status " + std::to_string(st);
}

} // namespace

std::unique_ptr<child_process> child_process::launch(const launch_spec& spec, std::string& error) {
  int lifeline[2];
  if (pipe2(lifeline, O_CLOEXEC) != 0) {
    error = std::string("pipe2: ") + std::strerror(errno);
    return nullptr;
  }
  int log_fd = open(spec.log_file.empty() ? "/dev/null" : spec.log_file.c_str(),
                    O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  std::string output_problem;
  if (log_fd < 0) {
    output_problem = "cannot open log_file " + spec.log_file + " for the bridge's output (" +
                     std::strerror(errno) + "); its output goes to /dev/null";
    log_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  }

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, log_fd, 1);
  posix_spawn_file_actions_adddup2(&fa, log_fd, 2);
  // dup2 onto fd 3 clears close-on-exec there only: the lifeline is the one extra fd.
  posix_spawn_file_actions_adddup2(&fa, lifeline[0], 3);

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // The child starts with default signal handling and mask, whatever the host set.
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  std::vector<std::string> args = {spec.node, spec.script, "bridge",   "--config",
                                   spec.ini,  "--listen",  spec.listen};
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);

  std::vector<std::string> env_strings;
  for (char** e = environ; e && *e; ++e) {
    if (std::strncmp(*e, "KALLITHEA_ISAPI_SECRET", 22) == 0 ||
        std::strncmp(*e, "KALLITHEA_ISAPI_LIFELINE_FD=", 28) == 0)
      continue;
    env_strings.emplace_back(*e);
  }
  env_strings.push_back("KALLITHEA_ISAPI_SECRET=" + spec.secret);
  env_strings.push_back("KALLITHEA_ISAPI_LIFELINE_FD=3");
  std::vector<char*> envp;
  for (auto& e : env_strings)
    envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t pid = 0;
  int rc = spec.node.find('/') == std::string::npos
               ? posix_spawnp(&pid, spec.node.c_str(), &fa, &attr, argv.data(), envp.data())
               : posix_spawn(&pid, spec.node.c_str(), &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  close(lifeline[0]);
  close(log_fd);
  if (rc != 0) {
    close(lifeline[1]);
    error = "cannot start " + spec.node + ": " + std::strerror(rc);
    return nullptr;
  }
  std::unique_ptr<child_process> c(new child_process());
  c->impl_ = std::make_unique<impl>();
  c->impl_->lifeline_write = lifeline[1];
  c->pid_ = static_cast<std::uint32_t>(pid);
  if (!output_problem.empty())
    c->warnings_.push_back(output_problem);
  c->family_ = std::make_shared<server_family>(c->pid_, nullptr);
  return c;
}

child_process::~child_process() {
  if (!impl_)
    return;
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    if (impl_->lifeline_write >= 0)
      close(impl_->lifeline_write);
    impl_->lifeline_write = -1;
  }
  std::string ignored;
  if (!exited(ignored)) {
    kill();
    wait();
  }
}

bool child_process::exited(std::string& status) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  if (impl_->reaped)
    return true;
  int st = 0;
  pid_t r = waitpid(static_cast<pid_t>(pid_), &st, WNOHANG);
  if (r == static_cast<pid_t>(pid_)) {
    impl_->reaped = true;
    status = describe_status(st);
    return true;
  }
  return false;
}

std::string child_process::wait() {
  // Wait without reaping, so a concurrent terminate() never signals a recycled pid.
  siginfo_t info{};
  while (waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOWAIT) != 0 && errno == EINTR) {
  }
  std::lock_guard<std::mutex> lock(impl_->mutex);
  if (impl_->reaped)
    return "exited";
  int st = 0;
  while (waitpid(static_cast<pid_t>(pid_), &st, 0) < 0 && errno == EINTR) {
  }
  impl_->reaped = true;
  return describe_status(st);
}

void child_process::terminate() {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  if (!impl_->reaped)
    ::kill(static_cast<pid_t>(pid_), SIGTERM);
  if (impl_->lifeline_write >= 0)
    close(impl_->lifeline_write);
  impl_->lifeline_write = -1;
}

void child_process::kill() {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  if (!impl_->reaped)
    ::kill(static_cast<pid_t>(pid_), SIGKILL);
}

bool make_private_address(std::string& listen, std::string& cleanup, std::string& error) {
  const char* tmp = std::getenv("TMPDIR");
  std::string base = tmp && *tmp ? tmp : "/tmp";
  std::string templ = base + "/kallithea-isapi-XXXXXX";
  if (templ.size() + 12 > sizeof(sockaddr_un{}.sun_path))
    templ = "/tmp/kallithea-isapi-XXXXXX"; // socket paths are short
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) { // mkdtemp makes it 0700
    error = "mkdtemp " + templ + ": " + std::strerror(errno);
    return false;
  }
  cleanup = buf.data();
  listen = "unix:" + cleanup + "/bridge.sock";
  return true;
}

void remove_private_address(const std::string& cleanup) {
  if (cleanup.empty())
    return;
  unlink((cleanup + "/bridge.sock").c_str());
  rmdir(cleanup.c_str());
}

probe_result probe_address(const bridge_address& address, const server_family&) {
  probe_result r;
  if (address.type != bridge_address::kind::unix_socket)
    return r; // spawn mode always uses a Unix socket on POSIX
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return r;
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::strncpy(sa.sun_path, address.path.c_str(), sizeof sa.sun_path - 1);
  r.ready = connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
  close(fd);
  return r;
}

bool random_bytes(unsigned char* out, std::size_t bytes) {
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  std::size_t got = 0;
  while (fd >= 0 && got < bytes) {
    ssize_t n = read(fd, out + got, bytes - got);
    if (n <= 0)
      break;
    got += static_cast<std::size_t>(n);
  }
  if (fd >= 0)
    close(fd);
  return got == bytes;
}

} // namespace kallithea_isapi

#endif
