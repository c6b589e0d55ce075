#include "ecb/ecb.hpp"

#include <cstring>

namespace kallithea_isapi {

ecb_calls::variable_read ecb_calls::read_variable(const char* name, char* dest, std::size_t room,
                                                  std::size_t& size) const {
  DWORD n = static_cast<DWORD>(room);
  isapi_set_last_error(0);
  if (ecb_->GetServerVariable(ecb_->ConnID, const_cast<LPSTR>(name), dest, &n)) {
    // n counts the terminating NUL; trust the NUL over the count.
    std::size_t written = n > room ? room : n;
    const void* nul = std::memchr(dest, '\0', written);
    size = nul ? static_cast<std::size_t>(static_cast<const char*>(nul) - dest) : written;
    return variable_read::found;
  }
  DWORD err = isapi_get_last_error();
  size = n;
  return err == ERROR_INSUFFICIENT_BUFFER || err == ERROR_MORE_DATA ? variable_read::too_small
                                                                    : variable_read::missing;
}

bool ecb_calls::set_completion(PFN_HSE_IO_COMPLETION fn, void* context) const {
  return ecb_->ServerSupportFunction(ecb_->ConnID, HSE_REQ_IO_COMPLETION,
                                     reinterpret_cast<LPVOID>(fn), nullptr,
                                     static_cast<LPDWORD>(context)) != FALSE;
}

bool ecb_calls::send_headers(const std::string& status, const std::string& header_block,
                             bool keep_conn, unsigned status_code) const {
  ecb_->dwHttpStatusCode = status_code;
  HSE_SEND_HEADER_EX_INFO info{};
  info.pszStatus = status.c_str();
  info.pszHeader = header_block.c_str();
  info.cchStatus = static_cast<DWORD>(status.size());
  info.cchHeader = static_cast<DWORD>(header_block.size());
  info.fKeepConn = keep_conn ? TRUE : FALSE;
  return ecb_->ServerSupportFunction(ecb_->ConnID, HSE_REQ_SEND_RESPONSE_HEADER_EX, &info, nullptr,
                                     nullptr) != FALSE;
}

bool ecb_calls::async_write(const void* data, std::size_t size) const {
  DWORD n = static_cast<DWORD>(size);
  return ecb_->WriteClient(ecb_->ConnID, const_cast<void*>(data), &n, HSE_IO_ASYNC) != FALSE;
}

bool ecb_calls::async_send_with_head(const std::string& status, const std::string& header_block,
                                     bool keep_conn, unsigned status_code, const void* data,
                                     std::size_t size, bool last) {
  ecb_->dwHttpStatusCode = status_code;
  element_.ElementType = HSE_VECTOR_ELEMENT_TYPE_MEMORY_BUFFER;
  element_.pvContext = const_cast<void*>(data);
  element_.cbOffset = 0;
  element_.cbSize = size;
  vector_.dwFlags = HSE_IO_ASYNC | HSE_IO_SEND_HEADERS | (last ? HSE_IO_FINAL_SEND : 0) |
                    (keep_conn ? 0 : HSE_IO_DISCONNECT_AFTER_SEND);
  vector_.pszStatus = const_cast<char*>(status.c_str());
  vector_.pszHeaders = const_cast<char*>(header_block.c_str());
  vector_.nElementCount = 1;
  vector_.lpElementArray = &element_;
  return ecb_->ServerSupportFunction(ecb_->ConnID, HSE_REQ_VECTOR_SEND, &vector_, nullptr,
                                     nullptr) != FALSE;
}

bool ecb_calls::async_read(void* data, std::size_t size) const {
  DWORD n = static_cast<DWORD>(size);
  DWORD flags = HSE_IO_ASYNC;
  return ecb_->ServerSupportFunction(ecb_->ConnID, HSE_REQ_ASYNC_READ_CLIENT, data, &n, &flags) !=
         FALSE;
}

bool ecb_calls::is_connected() const {
  BOOL connected = TRUE;
  if (!ecb_->ServerSupportFunction(ecb_->ConnID, HSE_REQ_IS_CONNECTED, &connected, nullptr,
                                   nullptr))
    return true;
  return connected != FALSE;
}

void ecb_calls::close_connection() const {
  ecb_->ServerSupportFunction(ecb_->ConnID, HSE_REQ_CLOSE_CONNECTION, nullptr, nullptr, nullptr);
}

void ecb_calls::done(bool keep_conn) const {
  DWORD status = keep_conn ? HSE_STATUS_SUCCESS_AND_KEEP_CONN : HSE_STATUS_SUCCESS;
  ecb_->ServerSupportFunction(ecb_->ConnID, HSE_REQ_DONE_WITH_SESSION, &status, nullptr, nullptr);
}

} // namespace kallithea_isapi
