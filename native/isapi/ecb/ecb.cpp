#include "ecb/ecb.hpp"

namespace kallithea_isapi {

bool ecb_calls::server_variable(const char* name, std::string& out, std::size_t max_size) const {
  // Read straight into `out`: a caller that reuses one string allocates only when a value
  // outgrows it.
  std::size_t capacity = out.capacity() < 1024 ? 1024 : out.capacity();
  for (;;) {
    out.resize(capacity);
    DWORD size = static_cast<DWORD>(capacity);
    isapi_set_last_error(0);
    if (ecb_->GetServerVariable(ecb_->ConnID, const_cast<LPSTR>(name), out.data(), &size)) {
      std::size_t n = size > capacity ? capacity : size;
      // size counts the terminating NUL; trust the NUL over the count.
      std::size_t len = 0;
      while (len < n && out[len] != '\0')
        ++len;
      out.resize(len);
      return true;
    }
    DWORD err = isapi_get_last_error();
    if (err != ERROR_INSUFFICIENT_BUFFER && err != ERROR_MORE_DATA) {
      out.clear();
      return false;
    }
    if (capacity >= max_size) {
      out.clear();
      return false;
    }
    std::size_t next = capacity * 2;
    if (size > next && size <= max_size)
      next = size;
    if (next > max_size)
      next = max_size;
    capacity = next;
  }
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
