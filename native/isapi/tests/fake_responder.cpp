#include "fake_responder.hpp"

#include "fastcgi/params.hpp"
#include "fastcgi/record.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace fake {
namespace kf = kallithea_isapi::fastcgi;
namespace {

bool read_full(int fd, void* buf, std::size_t n) {
  auto* p = static_cast<char*>(buf);
  while (n) {
    ssize_t r = ::read(fd, p, n);
    if (r <= 0)
      return false;
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

bool write_full(int fd, const void* buf, std::size_t n) {
  auto* p = static_cast<const char*>(buf);
  while (n) {
    ssize_t r = ::send(fd, p, n, MSG_NOSIGNAL);
    if (r <= 0)
      return false;
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

bool send_record(int fd, std::uint8_t type, const std::string& content) {
  std::size_t off = 0;
  do {
    std::size_t n = std::min<std::size_t>(content.size() - off, 65535);
    std::uint8_t h[8];
    kf::write_header(h, type, 1, n);
    if (!write_full(fd, h, 8) || !write_full(fd, content.data() + off, n))
      return false;
    off += n;
  } while (off < content.size());
  return true;
}

bool send_end(int fd) {
  return send_record(fd, kf::end_request, std::string("\0\0\0\0\0\0\0\0", 8));
}

} // namespace

responder::responder(std::string socket_path, std::string secret)
    : path_(std::move(socket_path)), secret_(std::move(secret)) {
  listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::strncpy(sa.sun_path, path_.c_str(), sizeof sa.sun_path - 1);
  unlink(path_.c_str());
  bind(listen_fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  listen(listen_fd_, 512);
  accept_thread_ = std::thread([this] {
    for (;;) {
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0 || stopping_) {
        if (fd >= 0)
          close(fd);
        return;
      }
      ++connections;
      std::lock_guard<std::mutex> lock(mutex_);
      fds_.push_back(fd);
      workers_.emplace_back([this, fd] { serve(fd); });
    }
  });
}

responder::~responder() {
  stopping_ = true;
  shutdown(listen_fd_, SHUT_RDWR);
  close(listen_fd_);
  accept_thread_.join();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (int fd : fds_)
      shutdown(fd, SHUT_RDWR);
  }
  for (auto& t : workers_)
    t.join();
  unlink(path_.c_str());
}

void responder::serve(int fd) {
  for (;;) {
    std::string params_bytes, body;
    bool stdin_done = false, params_done = false;
    while (!stdin_done || !params_done) {
      std::uint8_t h[8];
      if (!read_full(fd, h, 8))
        goto out;
      std::size_t len = (std::size_t{h[4]} << 8) | h[5];
      std::string content(len + h[6], '\0');
      if (!read_full(fd, content.data(), content.size()))
        goto out;
      content.resize(len);
      if (h[1] == kf::abort_request) {
        ++aborts;
        goto out;
      }
      if (h[1] == kf::params) {
        if (len == 0)
          params_done = true;
        params_bytes += content;
      } else if (h[1] == kf::stdin_) {
        if (len == 0)
          stdin_done = true;
        body += content;
      }
    }
    {
      kf::param_list list;
      kf::decode_params(reinterpret_cast<const std::uint8_t*>(params_bytes.data()),
                        params_bytes.size(), list);
      std::map<std::string, std::string> p(list.begin(), list.end());
      if (p["KALLITHEA_ISAPI_SECRET"] != secret_) {
        ++bad_secret;
        goto out;
      }
      ++requests;
      const std::string& path = p["PATH_INFO"];
      bool ok = true;
      if (path == "/hello") {
        ok = send_record(fd, kf::stdout_, "Status: 200 OK\r\nContent-Length: 5\r\n\r\nhello");
      } else if (path == "/echo") {
        std::string head = "Status: 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                           "\r\nX-Content-Length-Param: " +
                           (p.count("CONTENT_LENGTH") ? p["CONTENT_LENGTH"] : "absent") +
                           "\r\nX-User: " + p["REMOTE_USER"] + "\r\n\r\n";
        ok = send_record(fd, kf::stdout_, head) &&
             (body.empty() || send_record(fd, kf::stdout_, body));
      } else if (path == "/nolength") {
        ok = send_record(fd, kf::stdout_, "Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nab") &&
             send_record(fd, kf::stdout_, "cd") &&
             send_record(fd, kf::stdout_, std::string(70000, 'e'));
      } else if (path == "/stderr") {
        ok = send_record(fd, kf::stderr_, "a warning line\n") &&
             send_record(fd, kf::stdout_, "Status: 204 No Content\r\n\r\n");
      } else if (path == "/die") {
        send_record(fd, kf::stdout_, "Status: 200 OK\r\n\r\npartial");
        goto out; // no END_REQUEST
      } else if (path == "/hang") {
        while (!stopping_) // never answers; waits for the abort or the test's end
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        goto out;
      } else if (path == "/once") {
        // Answers, then closes the kept connection as a restarting bridge would.
        send_record(fd, kf::stdout_, "Status: 200 OK\r\nContent-Length: 4\r\n\r\nonce");
        send_record(fd, kf::stdout_, "");
        send_end(fd);
        goto out;
      } else if (path == "/slow") {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        ok = send_record(fd, kf::stdout_, "Status: 200 OK\r\nContent-Length: 4\r\n\r\nslow");
      } else {
        ok = send_record(fd, kf::stdout_, "Status: 404 Not Found\r\nContent-Length: 0\r\n\r\n");
      }
      if (!ok || !send_record(fd, kf::stdout_, "") || !send_end(fd))
        goto out;
    }
  }
out : {
  std::lock_guard<std::mutex> lock(mutex_);
  fds_.erase(std::remove(fds_.begin(), fds_.end(), fd), fds_.end());
}
  close(fd);
}

} // namespace fake
