#include "scripted_responder.hpp"

#include "fastcgi/params.hpp"
#include "fastcgi/record.hpp"

#include <algorithm>
#include <cstring>
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

} // namespace

scripted_responder::scripted_responder(std::string socket_path, script s)
    : path_(std::move(socket_path)), script_(std::move(s)) {
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
      int index = connections++;
      std::lock_guard<std::mutex> lock(mutex_);
      fds_.push_back(fd);
      workers_.emplace_back([this, fd, index] {
        script_(fd, index);
        {
          std::lock_guard<std::mutex> lock(mutex_);
          fds_.erase(std::remove(fds_.begin(), fds_.end(), fd), fds_.end());
        }
        close(fd);
      });
    }
  });
}

scripted_responder::~scripted_responder() {
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

bool scripted_responder::read_record(int fd, std::uint8_t& type, std::string& content) {
  std::uint8_t h[8];
  if (!read_full(fd, h, 8))
    return false;
  std::size_t len = (std::size_t{h[4]} << 8) | h[5];
  content.assign(len + h[6], '\0');
  if (!read_full(fd, content.data(), content.size()))
    return false;
  content.resize(len);
  type = h[1];
  return true;
}

bool scripted_responder::read_request(int fd, fcgi_request& out, bool with_body) {
  out = fcgi_request{};
  std::string params_bytes, content;
  std::uint8_t type = 0;
  bool params_done = false;
  while (!params_done || (with_body && !out.stdin_complete)) {
    if (!read_record(fd, type, content))
      return false;
    if (type == kf::params) {
      params_done = content.empty();
      params_bytes += content;
    } else if (type == kf::stdin_) {
      out.stdin_complete = content.empty();
      out.body += content;
    } else if (type == kf::abort_request) {
      return false;
    }
  }
  kf::param_list list;
  kf::decode_params(reinterpret_cast<const std::uint8_t*>(params_bytes.data()), params_bytes.size(),
                    list);
  out.params.insert(list.begin(), list.end());
  return true;
}

void scripted_responder::drain_stdin(int fd) {
  std::uint8_t type = 0;
  std::string content;
  while (read_record(fd, type, content))
    if (type == kf::stdin_ && content.empty())
      return;
}

std::string scripted_responder::record_bytes(std::uint8_t type, const std::string& content) {
  std::string bytes;
  std::size_t off = 0;
  do { // an empty content still makes one (empty) record
    std::size_t n = std::min<std::size_t>(content.size() - off, 65535);
    std::uint8_t h[8];
    kf::write_header(h, type, kf::request_id, n);
    bytes.append(reinterpret_cast<const char*>(h), 8);
    bytes.append(content, off, n);
    off += n;
  } while (off < content.size());
  return bytes;
}

bool scripted_responder::send_record(int fd, std::uint8_t type, const std::string& content) {
  std::string bytes = record_bytes(type, content);
  return write_full(fd, bytes.data(), bytes.size());
}

bool scripted_responder::send_response(int fd, const std::string& response,
                                       const std::string& then) {
  // One write, as a bridge sends a small answer: the DLL then sees END_REQUEST with the
  // body (a test of how a whole answer goes out must not depend on the scheduler).
  std::string bytes = record_bytes(kf::stdout_, response) + record_bytes(kf::stdout_, "") +
                      record_bytes(kf::end_request, std::string(8, '\0')) + then;
  return write_full(fd, bytes.data(), bytes.size());
}

} // namespace fake
