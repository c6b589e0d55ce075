#include "response_vector.h"

#include <cstdint>

namespace isapi_host {

std::string check_response_vector(const HSE_RESPONSE_VECTOR* vector) {
  if (vector == nullptr)
    return "HSE_REQ_VECTOR_SEND without an HSE_RESPONSE_VECTOR";
  const DWORD flags = vector->dwFlags;
  if (((flags & HSE_IO_SYNC) != 0) == ((flags & HSE_IO_ASYNC) != 0))
    return "HSE_REQ_VECTOR_SEND needs exactly one of HSE_IO_SYNC and HSE_IO_ASYNC";
  const bool with_head = (flags & HSE_IO_SEND_HEADERS) != 0;
  if (with_head && (vector->pszStatus == nullptr || vector->pszHeaders == nullptr))
    return "HSE_REQ_VECTOR_SEND with HSE_IO_SEND_HEADERS and a null status or header block";
  if (!with_head && (vector->pszStatus != nullptr || vector->pszHeaders != nullptr))
    return "HSE_REQ_VECTOR_SEND with a status or header block but without HSE_IO_SEND_HEADERS";
  if (vector->nElementCount > 0 && vector->lpElementArray == nullptr)
    return "HSE_REQ_VECTOR_SEND with " + std::to_string(vector->nElementCount) +
           " elements and a null element array";
  std::uint64_t total = 0;
  for (DWORD i = 0; i < vector->nElementCount; ++i) {
    const HSE_VECTOR_ELEMENT& e = vector->lpElementArray[i];
    // Named only in a refusal: this runs for every element of every send.
    const auto which = [i] { return "HSE_REQ_VECTOR_SEND element " + std::to_string(i); };
    if (e.ElementType == HSE_VECTOR_ELEMENT_TYPE_FILE_HANDLE)
      continue;
    if (e.ElementType != HSE_VECTOR_ELEMENT_TYPE_MEMORY_BUFFER)
      return which() + " has the unknown type " + std::to_string(e.ElementType);
    if (e.pvContext == nullptr && e.cbSize > 0)
      return which() + " is a null buffer of " + std::to_string(e.cbSize) + " bytes";
    if (e.cbOffset != 0)
      return which() + " is a memory buffer with an offset (" + std::to_string(e.cbOffset) + ")";
    total += e.cbSize;
    if (total > 0xFFFFFFFFull)
      return "HSE_REQ_VECTOR_SEND of more than 4 GiB at once";
  }
  return {};
}

bool has_file_element(const HSE_RESPONSE_VECTOR& vector) {
  for (DWORD i = 0; i < vector.nElementCount; ++i)
    if (vector.lpElementArray[i].ElementType == HSE_VECTOR_ELEMENT_TYPE_FILE_HANDLE)
      return true;
  return false;
}

} // namespace isapi_host
