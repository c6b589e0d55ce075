#include "hostile_responder.hpp"

#include "fastcgi/params.hpp"
#include "fastcgi/record.hpp"

#include <chrono>
#include <sys/socket.h>
#include <unistd.h>

namespace fake {
namespace kf = kallithea_isapi::fastcgi;
namespace {

struct record {
  std::uint8_t type = 0;
  std::string content;
};

/// `sip`: the most one read() takes, so a drain frees the DLL's socket a little at a time.
bool read_record(int fd, record& r, std::size_t sip = 65536 + 255) {
  std::uint8_t h[8];
  std::size_t got = 0;
  while (got < sizeof h) {
    ssize_t n = ::read(fd, h + got, sizeof h - got);
    if (n <= 0)
      return false;
    got += static_cast<std::size_t>(n);
  }
  r.type = h[1];
  r.content.assign((std::size_t{h[4]} << 8 | h[5]) + h[6], '\0');
  for (got = 0; got < r.content.size();) {
    ssize_t n = ::read(fd, r.content.data() + got, std::min(sip, r.content.size() - got));
    if (n <= 0)
      return false;
    got += static_cast<std::size_t>(n);
  }
  r.content.resize(std::size_t{h[4]} << 8 | h[5]); // without the padding
  return true;
}

/// One send for everything: bytes written together reach the DLL in one read if they can.
bool write_all(int fd, const std::string& bytes) {
  for (std::size_t off = 0; off < bytes.size();) {
    ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0)
      return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

/// One record; `content` fits in one (the responses here are small).
std::string encode(std::uint8_t type, std::uint16_t id, const std::string& content) {
  std::uint8_t h[8];
  kf::write_header(h, type, id, content.size());
  return std::string(reinterpret_cast<const char*>(h), sizeof h) + content;
}

std::string end_request(std::uint16_t id) {
  return encode(kf::end_request, id, std::string(8, '\0'));
}

/// A whole response for request 1: STDOUT with a Content-Length, its end, END_REQUEST.
std::string response(const std::string& status, const std::string& body) {
  std::string head =
      "Status: " + status + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  return encode(kf::stdout_, 1, head + body) + encode(kf::stdout_, 1, "") + end_request(1);
}

} // namespace

hostile_responder::hostile_responder(std::string socket_path, std::string secret, misbehaviour m)
    : secret_(std::move(secret)), misbehaviour_(m),
      peer_(std::move(socket_path), [this](int fd, int) {
        while (serve_request(fd)) {
        }
      }) {}

hostile_responder::~hostile_responder() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all(); // then peer_ closes the connections and joins their threads
}

void hostile_responder::release() {
  std::lock_guard<std::mutex> lock(mutex_);
  ++released_;
  changed_.notify_all();
}

bool hostile_responder::wait_released() {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return stopping_ || released_ > 0; });
  if (stopping_)
    return false;
  --released_;
  return true;
}

void hostile_responder::misbehaved() {
  std::lock_guard<std::mutex> lock(mutex_);
  ++misbehaved_;
  changed_.notify_all();
}

bool hostile_responder::wait_misbehaved(int n, int seconds) {
  std::unique_lock<std::mutex> lock(mutex_);
  return changed_.wait_for(lock, std::chrono::seconds(seconds), [&] { return misbehaved_ >= n; });
}

int hostile_responder::complete_requests(const std::string& path) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = complete_.find(path);
  return it == complete_.end() ? 0 : it->second;
}

bool hostile_responder::serve_request(int fd) {
  record r;
  if (misbehaviour_ == misbehaviour::answer_before_params) {
    if (!read_record(fd, r) || r.type != kf::begin_request)
      return false;
    ++begin_requests;
    if (!write_all(fd, response("200 OK", "answered before the params")))
      return false;
    misbehaved();
    if (!wait_released())
      return false;
    while (read_record(fd, r)) { // the rest of the request, until the DLL closes
    }
    return false;
  }
  std::string params_bytes;
  bool stdin_done = false;
  for (bool params_done = false; !params_done;) {
    if (!read_record(fd, r))
      return false;
    if (r.type == kf::abort_request) {
      ++aborts;
      return false;
    }
    if (r.type == kf::begin_request)
      ++begin_requests;
    if (r.type == kf::params) {
      params_done = r.content.empty();
      params_bytes += r.content;
    }
    if (r.type == kf::stdin_)
      stdin_done = r.content.empty();
  }
  kf::param_list list;
  kf::decode_params(reinterpret_cast<const std::uint8_t*>(params_bytes.data()), params_bytes.size(),
                    list);
  std::map<std::string, std::string> p(list.begin(), list.end());
  if (p["KALLITHEA_ISAPI_SECRET"] != secret_) {
    ++bad_secret;
    return false;
  }
  const std::string path = p["PATH_INFO"];

  // Reads STDIN to its empty record and counts the request as delivered.
  auto read_body = [&](std::size_t sip = 65536 + 255) {
    while (!stdin_done) {
      if (!read_record(fd, r, sip))
        return false;
      if (r.type == kf::abort_request) {
        ++aborts;
        return false;
      }
      stdin_done = r.type == kf::stdin_ && r.content.empty();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    ++complete_[path];
    return true;
  };
  const std::string ok = response("200 OK", "ok " + path);
  const bool hostile = path.rfind("/hostile", 0) == 0;
  if (!hostile)
    return read_body() && write_all(fd, ok);

  switch (misbehaviour_) {
  case misbehaviour::early_answer:
    if (!write_all(fd, response("503 Service Unavailable", "early answer")))
      return false;
    misbehaved();
    // The drain starts a little later each time and frees the socket 4 KiB at a time, so
    // over the requests a part of the DLL's pending STDIN write completes just as the DLL
    // finishes the request and lets the connection go.
    std::this_thread::sleep_for(std::chrono::microseconds(4 * (begin_requests % 50)));
    return read_body(4096); // then the connection serves on
  case misbehaviour::stall_unread: {
    misbehaved();
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return stopping_; });
    return false;
  }
  default:
    break;
  }
  if (!read_body())
    return false;
  switch (misbehaviour_) {
  case misbehaviour::trailing_response:
    if (!write_all(fd, ok + response("200 OK", "POISON")))
      return false;
    misbehaved();
    return true;
  case misbehaviour::trailing_response_when_idle:
    if (!write_all(fd, ok) || !wait_released() || !write_all(fd, response("200 OK", "POISON")))
      return false;
    misbehaved();
    return true;
  case misbehaviour::foreign_end_request:
    // No Content-Length: only END_REQUEST could complete this response.
    if (!write_all(fd, encode(kf::stdout_, 1, "Status: 200 OK\r\n\r\npartial") + end_request(2)))
      return false;
    misbehaved();
    return true;
  case misbehaviour::die_after_request:
    shutdown(fd, SHUT_RDWR); // before the count, so a test that saw it sees the close too
    misbehaved();
    return false;
  case misbehaviour::close_when_idle:
    if (!write_all(fd, ok) || !wait_released())
      return false;
    shutdown(fd, SHUT_RDWR);
    misbehaved();
    return false;
  case misbehaviour::stall:
    misbehaved();
    while (read_record(fd, r))
      if (r.type == kf::abort_request)
        ++aborts;
    return false;
  case misbehaviour::early_answer:
  case misbehaviour::stall_unread:
  case misbehaviour::answer_before_params:
    break; // handled above
  }
  return false;
}

} // namespace fake
