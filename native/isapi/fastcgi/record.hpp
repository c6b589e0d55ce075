// FastCGI 1.0 wire format: record types, limits and the 8-byte record header, made of byte
// fields only (hi/lo), so alignment and byte order never come up.
#pragma once

#include <cstddef>
#include <cstdint>

namespace kallithea_isapi::fastcgi {

constexpr std::uint8_t version_1 = 1;
constexpr std::size_t header_size = 8;
constexpr std::size_t max_content = 65535;

enum record_type : std::uint8_t {
  begin_request = 1,
  abort_request = 2,
  end_request = 3,
  params = 4,
  stdin_ = 5,
  stdout_ = 6,
  stderr_ = 7,
  data = 8,
  get_values = 9,
  get_values_result = 10,
  unknown_type = 11,
};

constexpr std::uint16_t responder_role = 1;
constexpr std::uint8_t keep_conn_flag = 1;

/// protocolStatus values of END_REQUEST.
enum protocol_status : std::uint8_t {
  request_complete = 0,
  cant_mpx_conn = 1,
  overloaded = 2,
  unknown_role = 3,
};

/// The one request id the DLL uses: one request at a time per pooled connection.
constexpr std::uint16_t request_id = 1;

/// Writes a record header at `out` (8 bytes); padding is always 0 in what the DLL sends.
inline void write_header(std::uint8_t* out, std::uint8_t type, std::uint16_t id,
                         std::size_t content_length) {
  out[0] = version_1;
  out[1] = type;
  out[2] = static_cast<std::uint8_t>(id >> 8);
  out[3] = static_cast<std::uint8_t>(id & 0xff);
  out[4] = static_cast<std::uint8_t>((content_length >> 8) & 0xff);
  out[5] = static_cast<std::uint8_t>(content_length & 0xff);
  out[6] = 0;
  out[7] = 0;
}

} // namespace kallithea_isapi::fastcgi
