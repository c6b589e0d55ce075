#include "fake_responder.hpp"

#include "fastcgi/params.hpp"
#include "fastcgi/record.hpp"

#include <chrono>
#include <map>
#include <thread>

namespace fake {
namespace kf = kallithea_isapi::fastcgi;
namespace {

bool send_record(int fd, std::uint8_t type, const std::string& content) {
  return scripted_responder::send_record(fd, type, content);
}

const std::string end_request_content(8, '\0'); // FCGI_REQUEST_COMPLETE, app status 0

bool send_end(int fd) {
  return send_record(fd, kf::end_request, end_request_content);
}

const char* const hello_response = "Status: 200 OK\r\nContent-Length: 5\r\n\r\nhello";

} // namespace

std::string responder::hello_answer() {
  return scripted_responder::record_bytes(kf::stdout_, hello_response) +
         scripted_responder::record_bytes(kf::stdout_, "") +
         scripted_responder::record_bytes(kf::end_request, end_request_content);
}

responder::responder(std::string socket_path, std::string secret)
    : secret_(std::move(secret)), server_(std::move(socket_path), [this](int fd, int) {
        ++connections;
        serve(fd);
      }) {}

void responder::serve(int fd) {
  for (;;) {
    std::string params_bytes, body;
    bool stdin_done = false, params_done = false;
    while (!stdin_done || !params_done) {
      std::uint8_t type = 0;
      std::string content;
      if (!scripted_responder::read_record(fd, type, content))
        return;
      if (type == kf::abort_request) {
        ++aborts;
        return;
      }
      if (type == kf::params) {
        params_done = content.empty();
        params_bytes += content;
      } else if (type == kf::stdin_) {
        stdin_done = content.empty();
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
        return;
      }
      ++requests;
      const std::string& path = p["PATH_INFO"];
      bool ok = true;
      if (path == "/hello") {
        ok = send_record(fd, kf::stdout_, hello_response);
      } else if (path == "/echo") {
        std::string head = "Status: 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                           "\r\nX-Content-Length-Param: " +
                           (p.count("CONTENT_LENGTH") ? p["CONTENT_LENGTH"] : "absent") +
                           "\r\nX-User: " + p["REMOTE_USER"] + "\r\nX-Dll-Status: " +
                           (p.count("KALLITHEA_ISAPI_DLL_STATUS") ? "present" : "absent") +
                           "\r\n\r\n";
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
        return; // no END_REQUEST
      } else if (path == "/hang") {
        while (!stopping_) // never answers; waits for the abort or the test's end
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        return;
      } else if (path == "/once") {
        // Answers, then closes the kept connection as a restarting bridge would.
        send_record(fd, kf::stdout_, "Status: 200 OK\r\nContent-Length: 4\r\n\r\nonce");
        send_record(fd, kf::stdout_, "");
        send_end(fd);
        return;
      } else if (path.size() >= 24 &&
                 path.compare(path.size() - 24, 24, "/~kallithea-isapi/status") == 0) {
        // The DLL's figures, as the bridge's status page receives them.
        std::string figures =
            p.count("KALLITHEA_ISAPI_DLL_STATUS") ? p["KALLITHEA_ISAPI_DLL_STATUS"] : "absent";
        ok = send_record(fd, kf::stdout_,
                         "Status: 200 OK\r\nContent-Length: " + std::to_string(figures.size()) +
                             "\r\n\r\n" + figures);
      } else if (path == "/slow") {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        ok = send_record(fd, kf::stdout_, "Status: 200 OK\r\nContent-Length: 4\r\n\r\nslow");
      } else {
        ok = send_record(fd, kf::stdout_, "Status: 404 Not Found\r\nContent-Length: 0\r\n\r\n");
      }
      if (!ok || !send_record(fd, kf::stdout_, "") || !send_end(fd))
        return;
    }
  }
}

} // namespace fake
