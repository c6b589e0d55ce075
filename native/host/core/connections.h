// The process-wide table from ConnID (an opaque number, never a pointer) to its Request,
// and the four ECB callbacks that look requests up in it. A ConnID the table does not
// know gets FALSE with ERROR_INVALID_PARAMETER, as from IIS for a bad handle.
#ifndef KALLITHEA_ISAPI_HOST_CONNECTIONS_H
#define KALLITHEA_ISAPI_HOST_CONNECTIONS_H

#include "isapi/abi.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

namespace isapi_host {

class Request;

std::uint64_t next_connection_id();
void register_connection(std::uint64_t id, std::shared_ptr<Request> request);
void forget_connection(std::uint64_t id);
std::shared_ptr<Request> find_connection(HCONN conn);

/// Verifier mode: a finished request's ECB, kept (at most 4096, the oldest go first) as a
/// small poisoned stub instead of the whole request. Its function pointers lead to traps
/// and its strings to a poison text (in the ASan build its other fields are poisoned); a call with
/// its ConnID, through the stub or through callbacks the extension kept, is passed to `report` (the
/// call's name, and whether it is HSE_REQ_DONE_WITH_SESSION). An empty `report` keeps the stub
/// without reporting (the watchdog already gave up on it).
void bury_connection(std::uint64_t id, std::unique_ptr<EXTENSION_CONTROL_BLOCK> ecb,
                     std::function<void(const char* call, bool done)> report);
/// Stubs kept (tests: the bound).
std::size_t buried_connections();
/// Whether a stub's fields are ASan-poisoned (the AddressSanitizer build): a plain read of
/// one is then reported by ASan, not only calls through its trapped pointers.
bool buried_fields_poisoned();

inline HCONN to_hconn(std::uint64_t id) {
  return reinterpret_cast<HCONN>(static_cast<std::uintptr_t>(id));
}

BOOL WINAPI ecb_get_server_variable(HCONN conn, LPSTR name, LPVOID buffer, LPDWORD size);
BOOL WINAPI ecb_write_client(HCONN conn, LPVOID buffer, LPDWORD bytes, DWORD flags);
BOOL WINAPI ecb_read_client(HCONN conn, LPVOID buffer, LPDWORD size);
BOOL WINAPI ecb_server_support_function(HCONN conn, DWORD request, LPVOID buffer, LPDWORD size,
                                        LPDWORD data_type);

} // namespace isapi_host

#endif
