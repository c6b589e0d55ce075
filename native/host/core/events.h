// What the native core tells the JavaScript side, and the one interface it tells it
// through. The core never sees N-API: the addon implements EventSink with a
// thread-safe function.
#ifndef KALLITHEA_ISAPI_HOST_EVENTS_H
#define KALLITHEA_ISAPI_HOST_EVENTS_H

#include <cstdint>
#include <string>
#include <vector>

namespace isapi_host {

/// One message from any native thread to the JS thread. Events of one request are posted
/// under that request's lock, so JS sees them in the order the extension caused them.
struct HostEvent {
  enum class Kind : int {
    /// number = status code, text = reason phrase, text2 = the header fields as
    /// "name\nvalue\nname\nvalue" (both Latin-1: the bytes as the extension wrote them),
    /// data = body bytes that go out with the head (acknowledged natively), flag = keep
    headers = 1,
    write = 2,            ///< data = bytes for the client; JS answers with write_done
    resume = 3,           ///< the host's body buffer has room again: resume the request
    done = 4,             ///< number = HSE status, flag = keep, text = log parameter
    close_connection = 5, ///< HSE_REQ_CLOSE_CONNECTION: destroy the socket
    violation = 6, ///< text = rule, text2 = message, data = "METHOD target", flag = headers sent
    log = 7,       ///< text = a line for the host's error log
    closed = 8,    ///< the host finished closing; flag = drained (extension terminated)
    finished = 9,  ///< the request's one terminal event: it left the host, whatever ended it
  };
  HostEvent(Kind kind_of, std::uint64_t request) : kind(kind_of), request_id(request) {}

  Kind kind;
  std::uint64_t request_id = 0;
  std::string text;
  std::string text2;
  std::vector<std::uint8_t> data;
  bool flag = false;
  std::uint32_t number = 0;
};

/// Implemented by the addon. post() runs on any thread, must not block on JS and must not
/// call back into the core; it returns false once JS can no longer receive events.
class EventSink {
public:
  virtual ~EventSink() = default;
  virtual bool post(HostEvent&& event) = 0;
};

} // namespace isapi_host

#endif
