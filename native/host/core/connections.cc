#include "connections.h"

#include "request.h"

#include <array>
#include <atomic>
#include <cstddef>
#include <deque>
#include <mutex>
#include <unordered_map>

#if defined(__SANITIZE_ADDRESS__)
#define ISAPI_HOST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ISAPI_HOST_ASAN 1
#endif
#endif
#ifdef ISAPI_HOST_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace isapi_host {

namespace {

// Every ECB call on every extension thread looks its request up here, and the JS thread
// adds and removes one per request: the table is split by ConnID into shards with a lock
// each, so that those calls do not all queue on one process-wide lock.
struct alignas(64) Shard {
  std::mutex mutex;
  std::unordered_map<std::uint64_t, std::shared_ptr<Request>> requests;
};
constexpr std::size_t shard_count = 64;

// Never destroyed: at process exit, threads still inside an extension that was left
// loaded (Host::do_close) may still call into the table after static destructors have
// run. What the table holds stays reachable, so leak checkers do not report it.
Shard& shard_of(std::uint64_t id) {
  static auto* shards = new std::array<Shard, shard_count>;
  return (*shards)[id % shard_count];
}

// The verifier's retired ECBs (below), under a lock of their own; never destroyed either.
std::mutex& graveyard_mutex() {
  static auto* mutex = new std::mutex;
  return *mutex;
}

// What a field read from a retired ECB finds: recognisable, and not the request's data.
char poison_text[] = "<isapi-host: ECB read after DONE_WITH_SESSION>";

// In the AddressSanitizer build a retired ECB's fields are poisoned too, so that a plain
// read or write of one (which no trap sees) is reported with its stack. ConnID and the four
// function pointers stay readable: a call through them reaches the traps, which report it
// as a violation. Both ranges start and end on 8-byte boundaries, ASan's granule.
void poison_fields(EXTENSION_CONTROL_BLOCK* ecb, bool poison) {
#ifdef ISAPI_HOST_ASAN
  auto* base = reinterpret_cast<char*>(ecb);
  const std::size_t conn_id = offsetof(EXTENSION_CONTROL_BLOCK, ConnID);
  const std::size_t status = offsetof(EXTENSION_CONTROL_BLOCK, dwHttpStatusCode);
  const std::size_t functions = offsetof(EXTENSION_CONTROL_BLOCK, GetServerVariable);
  static_assert(offsetof(EXTENSION_CONTROL_BLOCK, ConnID) % 8 == 0 &&
                    offsetof(EXTENSION_CONTROL_BLOCK, dwHttpStatusCode) % 8 == 0 &&
                    offsetof(EXTENSION_CONTROL_BLOCK, GetServerVariable) % 8 == 0,
                "the poisoned ranges must be whole ASan granules");
  if (poison) {
    ASAN_POISON_MEMORY_REGION(base, conn_id);
    ASAN_POISON_MEMORY_REGION(base + status, functions - status);
  } else {
    ASAN_UNPOISON_MEMORY_REGION(base, sizeof(EXTENSION_CONTROL_BLOCK));
  }
#else
  (void)ecb;
  (void)poison;
#endif
}

struct UnpoisonFirst {
  void operator()(EXTENSION_CONTROL_BLOCK* ecb) const {
    poison_fields(ecb, false);
    delete ecb;
  }
};

struct Buried {
  std::unique_ptr<EXTENSION_CONTROL_BLOCK, UnpoisonFirst> ecb;
  std::function<void(const char*, bool)> report;
};
constexpr std::size_t buried_kept = 4096;

// Under graveyard_mutex(), never destroyed (as the table).
std::unordered_map<std::uint64_t, Buried>& graveyard() {
  static auto* buried = new std::unordered_map<std::uint64_t, Buried>;
  return *buried;
}
std::deque<std::uint64_t>& burial_order() {
  static auto* order = new std::deque<std::uint64_t>;
  return *order;
}

std::uint64_t id_of(HCONN conn) {
  return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(conn));
}

// A call with the ConnID of a finished request: reported (outside the lock), and failed as
// IIS fails a bad handle.
BOOL report_buried(HCONN conn, const char* call, bool done = false) {
  std::function<void(const char*, bool)> report;
  {
    std::lock_guard<std::mutex> lock(graveyard_mutex());
    auto it = graveyard().find(id_of(conn));
    if (it != graveyard().end())
      report = it->second.report;
  }
  if (report)
    report(call, done);
  isapi_set_last_error(ERROR_INVALID_PARAMETER);
  return FALSE;
}

// The poisoned stub's function pointers.
BOOL WINAPI trap_get_server_variable(HCONN conn, LPSTR, LPVOID, LPDWORD) {
  return report_buried(conn, "GetServerVariable (retired ECB)");
}
BOOL WINAPI trap_write_client(HCONN conn, LPVOID, LPDWORD, DWORD) {
  return report_buried(conn, "WriteClient (retired ECB)");
}
BOOL WINAPI trap_read_client(HCONN conn, LPVOID, LPDWORD) {
  return report_buried(conn, "ReadClient (retired ECB)");
}
BOOL WINAPI trap_server_support_function(HCONN conn, DWORD request, LPVOID, LPDWORD, LPDWORD) {
  return report_buried(conn, "ServerSupportFunction (retired ECB)",
                       request == HSE_REQ_DONE_WITH_SESSION);
}

} // namespace

void bury_connection(std::uint64_t id, std::unique_ptr<EXTENSION_CONTROL_BLOCK> ecb,
                     std::function<void(const char*, bool)> report) {
  ecb->lpszMethod = poison_text;
  ecb->lpszQueryString = poison_text;
  ecb->lpszPathInfo = poison_text;
  ecb->lpszPathTranslated = poison_text;
  ecb->lpszContentType = poison_text;
  ecb->lpbData = reinterpret_cast<LPBYTE>(poison_text);
  ecb->cbAvailable = 0;
  ecb->cbTotalBytes = 0;
  ecb->GetServerVariable = trap_get_server_variable;
  ecb->WriteClient = trap_write_client;
  ecb->ReadClient = trap_read_client;
  ecb->ServerSupportFunction = trap_server_support_function;
  poison_fields(ecb.get(), true);
  Buried evicted; // destroyed outside the lock
  std::lock_guard<std::mutex> lock(graveyard_mutex());
  graveyard()[id] = Buried{std::unique_ptr<EXTENSION_CONTROL_BLOCK, UnpoisonFirst>(ecb.release()),
                           std::move(report)};
  burial_order().push_back(id);
  if (burial_order().size() > buried_kept) {
    auto it = graveyard().find(burial_order().front());
    burial_order().pop_front();
    if (it != graveyard().end()) {
      evicted = std::move(it->second);
      graveyard().erase(it);
    }
  }
}

std::size_t buried_connections() {
  std::lock_guard<std::mutex> lock(graveyard_mutex());
  return graveyard().size();
}

bool buried_fields_poisoned() {
#ifdef ISAPI_HOST_ASAN
  return true;
#else
  return false;
#endif
}

std::uint64_t next_connection_id() {
  // Starts high so that a ConnID is never a small integer an extension might fake.
  static std::atomic<std::uint64_t> next{0x10000};
  return next.fetch_add(1);
}

void register_connection(std::uint64_t id, std::shared_ptr<Request> request) {
  Shard& shard = shard_of(id);
  std::lock_guard<std::mutex> lock(shard.mutex);
  shard.requests[id] = std::move(request);
}

void forget_connection(std::uint64_t id) {
  std::shared_ptr<Request> doomed; // destroyed outside the lock
  Shard& shard = shard_of(id);
  std::lock_guard<std::mutex> lock(shard.mutex);
  auto it = shard.requests.find(id);
  if (it == shard.requests.end())
    return;
  doomed = std::move(it->second);
  shard.requests.erase(it);
}

std::shared_ptr<Request> find_connection(HCONN conn) {
  const std::uint64_t id = id_of(conn);
  Shard& shard = shard_of(id);
  std::lock_guard<std::mutex> lock(shard.mutex);
  auto it = shard.requests.find(id);
  return it == shard.requests.end() ? nullptr : it->second;
}

BOOL WINAPI ecb_get_server_variable(HCONN conn, LPSTR name, LPVOID buffer, LPDWORD size) {
  auto request = find_connection(conn);
  if (!request)
    return report_buried(conn, "GetServerVariable");
  if (name == nullptr || size == nullptr) {
    isapi_set_last_error(ERROR_INVALID_PARAMETER);
    return FALSE;
  }
  return request->get_server_variable(name, buffer, size);
}

BOOL WINAPI ecb_write_client(HCONN conn, LPVOID buffer, LPDWORD bytes, DWORD flags) {
  auto request = find_connection(conn);
  if (!request)
    return report_buried(conn, "WriteClient");
  if (bytes == nullptr || (buffer == nullptr && *bytes != 0)) {
    isapi_set_last_error(ERROR_INVALID_PARAMETER);
    return FALSE;
  }
  return request->write_client(buffer, bytes, flags);
}

BOOL WINAPI ecb_read_client(HCONN conn, LPVOID buffer, LPDWORD size) {
  auto request = find_connection(conn);
  if (!request)
    return report_buried(conn, "ReadClient");
  if (size == nullptr || (buffer == nullptr && *size != 0)) {
    isapi_set_last_error(ERROR_INVALID_PARAMETER);
    return FALSE;
  }
  return request->read_client(buffer, size);
}

BOOL WINAPI ecb_server_support_function(HCONN conn, DWORD request_code, LPVOID buffer, LPDWORD size,
                                        LPDWORD data_type) {
  auto request = find_connection(conn);
  if (!request)
    return report_buried(conn, "ServerSupportFunction", request_code == HSE_REQ_DONE_WITH_SESSION);
  return request->server_support_function(request_code, buffer, size, data_type);
}

} // namespace isapi_host
