// Thin, checked calls on one EXTENSION_CONTROL_BLOCK. The request driver owns the ECB from
// HttpExtensionProc until it calls done(); afterwards nothing here may be called again.
#pragma once

#include <isapi/abi.h>

#include <cstddef>
#include <string>

namespace kallithea_isapi {

class ecb_calls {
public:
  explicit ecb_calls(EXTENSION_CONTROL_BLOCK* ecb) : ecb_(ecb) {}

  EXTENSION_CONTROL_BLOCK* raw() const { return ecb_; }

  /// Reads a server variable with a doubling buffer (some hosts report bogus sizes),
  /// capped at max_size. False when the host does not have it.
  bool server_variable(const char* name, std::string& out,
                       std::size_t max_size = 1024 * 1024) const;

  /// Registers the completion callback and its context (HSE_REQ_IO_COMPLETION).
  bool set_completion(PFN_HSE_IO_COMPLETION fn, void* context) const;

  /// SEND_RESPONSE_HEADER_EX; also sets dwHttpStatusCode for the host's log.
  bool send_headers(const std::string& status, const std::string& header_block, bool keep_conn,
                    unsigned status_code) const;

  /// Starts an async WriteClient; the completion callback reports it. False: not started.
  bool async_write(const void* data, std::size_t size) const;

  /// Starts HSE_REQ_ASYNC_READ_CLIENT into `data`. False: not started.
  bool async_read(void* data, std::size_t size) const;

  /// HSE_REQ_IS_CONNECTED: false once the client is known to have gone (a host that cannot
  /// tell says connected).
  bool is_connected() const;

  /// HSE_REQ_CLOSE_CONNECTION: the client sees the response cut off.
  void close_connection() const;

  /// HSE_REQ_DONE_WITH_SESSION. The caller guarantees it runs exactly once.
  void done(bool keep_conn) const;

private:
  EXTENSION_CONTROL_BLOCK* ecb_;
};

} // namespace kallithea_isapi
