// The process-wide table from ConnID (an opaque number, never a pointer) to its Request,
// and the four ECB callbacks that look requests up in it. A ConnID the table does not
// know gets FALSE with ERROR_INVALID_PARAMETER, as from IIS for a bad handle.
#ifndef KALLITHEA_ISAPI_HOST_CONNECTIONS_H
#define KALLITHEA_ISAPI_HOST_CONNECTIONS_H

#include "isapi/abi.h"

#include <cstdint>
#include <memory>

namespace isapi_host {

class Request;

std::uint64_t next_connection_id();
void register_connection(std::uint64_t id, std::shared_ptr<Request> request);
void forget_connection(std::uint64_t id);
std::shared_ptr<Request> find_connection(HCONN conn);

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
