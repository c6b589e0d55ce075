// HSE_REQ_VECTOR_SEND's argument checked before anything of it is sent: the response
// head (with HSE_IO_SEND_HEADERS) and the memory buffers that follow it, as one write.
#ifndef KALLITHEA_ISAPI_HOST_RESPONSE_VECTOR_H
#define KALLITHEA_ISAPI_HOST_RESPONSE_VECTOR_H

#include "isapi/abi.h"

#include <string>

namespace isapi_host {

/// What is wrong with `vector` (empty: nothing). Refused: a null vector; both or neither of
/// HSE_IO_SYNC and HSE_IO_ASYNC; a status or header pointer that does not match
/// HSE_IO_SEND_HEADERS (both set with it, both null without, as IIS documents); elements
/// without an array; an element of an unknown type, or a buffer that is null, has an offset,
/// or does not fit a DWORD. File handles are valid (IIS sends them): see has_file_element.
std::string check_response_vector(const HSE_RESPONSE_VECTOR* vector);

/// A file-handle element: isapi-host does not serve those (it refuses the call, as it
/// refuses unsupported requests; not a breach of the contract). `vector` is checked.
bool has_file_element(const HSE_RESPONSE_VECTOR& vector);

} // namespace isapi_host

#endif
