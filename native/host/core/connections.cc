#include "connections.h"

#include "request.h"

#include <atomic>
#include <mutex>
#include <unordered_map>

namespace isapi_host {

namespace {

// Both are never destroyed: at process exit, threads still inside an extension that was
// left loaded (Host::do_close) may still call into the table after static destructors
// have run. What the table holds stays reachable, so leak checkers do not report it.
std::mutex& table_mutex() {
  static auto* mutex = new std::mutex;
  return *mutex;
}

std::unordered_map<std::uint64_t, std::shared_ptr<Request>>& table() {
  static auto* connections = new std::unordered_map<std::uint64_t, std::shared_ptr<Request>>;
  return *connections;
}

} // namespace

std::uint64_t next_connection_id() {
  // Starts high so that a ConnID is never a small integer an extension might fake.
  static std::atomic<std::uint64_t> next{0x10000};
  return next.fetch_add(1);
}

void register_connection(std::uint64_t id, std::shared_ptr<Request> request) {
  std::lock_guard<std::mutex> lock(table_mutex());
  table()[id] = std::move(request);
}

void forget_connection(std::uint64_t id) {
  std::shared_ptr<Request> doomed; // destroyed outside the lock
  std::lock_guard<std::mutex> lock(table_mutex());
  auto it = table().find(id);
  if (it == table().end())
    return;
  doomed = std::move(it->second);
  table().erase(it);
}

std::shared_ptr<Request> find_connection(HCONN conn) {
  const auto id = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(conn));
  std::lock_guard<std::mutex> lock(table_mutex());
  auto it = table().find(id);
  return it == table().end() ? nullptr : it->second;
}

BOOL WINAPI ecb_get_server_variable(HCONN conn, LPSTR name, LPVOID buffer, LPDWORD size) {
  auto request = find_connection(conn);
  if (!request || name == nullptr || size == nullptr) {
    isapi_set_last_error(ERROR_INVALID_PARAMETER);
    return FALSE;
  }
  return request->get_server_variable(name, buffer, size);
}

BOOL WINAPI ecb_write_client(HCONN conn, LPVOID buffer, LPDWORD bytes, DWORD flags) {
  auto request = find_connection(conn);
  if (!request || bytes == nullptr || (buffer == nullptr && *bytes != 0)) {
    isapi_set_last_error(ERROR_INVALID_PARAMETER);
    return FALSE;
  }
  return request->write_client(buffer, bytes, flags);
}

BOOL WINAPI ecb_read_client(HCONN conn, LPVOID buffer, LPDWORD size) {
  auto request = find_connection(conn);
  if (!request || size == nullptr || (buffer == nullptr && *size != 0)) {
    isapi_set_last_error(ERROR_INVALID_PARAMETER);
    return FALSE;
  }
  return request->read_client(buffer, size);
}

BOOL WINAPI ecb_server_support_function(HCONN conn, DWORD request_code, LPVOID buffer, LPDWORD size,
                                        LPDWORD data_type) {
  auto request = find_connection(conn);
  if (!request) {
    isapi_set_last_error(ERROR_INVALID_PARAMETER);
    return FALSE;
  }
  return request->server_support_function(request_code, buffer, size, data_type);
}

} // namespace isapi_host
