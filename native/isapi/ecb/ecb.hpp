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

  enum class variable_read { found, too_small, missing };

  /// One GetServerVariable into `dest` (`room` bytes, the NUL included). found: `size` is
  /// the value's length (without the NUL); too_small: `size` is what the host says it
  /// needs (some hosts report bogus sizes: the caller still grows by doubling); missing: the
  /// host does not have it.
  variable_read read_variable(const char* name, char* dest, std::size_t room,
                              std::size_t& size) const;

  /// Registers the completion callback and its context (HSE_REQ_IO_COMPLETION).
  bool set_completion(PFN_HSE_IO_COMPLETION fn, void* context) const;

  /// SEND_RESPONSE_HEADER_EX; also sets dwHttpStatusCode for the host's log.
  bool send_headers(const std::string& status, const std::string& header_block, bool keep_conn,
                    unsigned status_code) const;

  /// Starts an async WriteClient; the completion callback reports it. False: not started.
  bool async_write(const void* data, std::size_t size) const;

  /// Starts one async HSE_REQ_VECTOR_SEND of the response head and the first body bytes:
  /// one IIS call (and one completion) instead of SEND_RESPONSE_HEADER_EX + WriteClient.
  /// `status` and `header_block` must live until the completion. `last`: the whole
  /// response (HSE_IO_FINAL_SEND). !keep_conn: the connection closes after it.
  bool async_send_with_head(const std::string& status, const std::string& header_block,
                            bool keep_conn, unsigned status_code, const void* data,
                            std::size_t size, bool last);

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
  // What async_send_with_head hands the host, kept until its completion (a host may read
  // the vector after the call returns).
  HSE_VECTOR_ELEMENT element_{};
  HSE_RESPONSE_VECTOR vector_{};
};

} // namespace kallithea_isapi
