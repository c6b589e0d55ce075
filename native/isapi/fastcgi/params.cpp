#include "fastcgi/params.hpp"

#include "fastcgi/record.hpp"

#include <cstring>

namespace kallithea_isapi::fastcgi {
namespace {

std::size_t length_size(std::size_t n) {
  return n < 128 ? 1 : 4;
}

std::uint8_t* put_length(std::uint8_t* p, std::size_t n) {
  if (n < 128) {
    *p++ = static_cast<std::uint8_t>(n);
  } else {
    *p++ = static_cast<std::uint8_t>(((n >> 24) & 0x7f) | 0x80);
    *p++ = static_cast<std::uint8_t>((n >> 16) & 0xff);
    *p++ = static_cast<std::uint8_t>((n >> 8) & 0xff);
    *p++ = static_cast<std::uint8_t>(n & 0xff);
  }
  return p;
}

} // namespace

const char* describe(params_error e) {
  switch (e) {
  case params_error::none:
    return "no error";
  case params_error::value_too_large:
    return "a request variable is larger than the limit";
  case params_error::params_too_large:
    return "the request's variables together are larger than the limit";
  }
  return "?";
}

std::size_t pair_size(const std::string& name, const std::string& value) {
  return length_size(name.size()) + length_size(value.size()) + name.size() + value.size();
}

encoded_request encode_request_start(const param_list& params, bool close_stdin,
                                     const params_limits& limits) {
  encoded_request r;
  // Measure.
  std::size_t stream = 0;
  for (const auto& [name, value] : params) {
    if (value.size() > limits.max_value || name.size() > limits.max_value) {
      r.error = params_error::value_too_large;
      r.offending_name = name;
      return r;
    }
    stream += pair_size(name, value);
    if (stream > limits.max_total) {
      r.error = params_error::params_too_large;
      r.offending_name = name;
      return r;
    }
  }
  std::size_t records = (stream + max_content - 1) / max_content;
  std::size_t total = header_size + 8                  // BEGIN_REQUEST
                      + records * header_size + stream // PARAMS
                      + header_size                    // empty PARAMS
                      + (close_stdin ? header_size : 0);
  // Serialise the pairs once, then cut the stream into records inside the exact buffer.
  std::vector<std::uint8_t> pairs(stream);
  std::uint8_t* p = pairs.data();
  for (const auto& [name, value] : params) {
    p = put_length(p, name.size());
    p = put_length(p, value.size());
    std::memcpy(p, name.data(), name.size());
    p += name.size();
    std::memcpy(p, value.data(), value.size());
    p += value.size();
  }
  r.bytes.resize(total);
  std::uint8_t* out = r.bytes.data();
  write_header(out, begin_request, request_id, 8);
  out += header_size;
  out[0] = 0;
  out[1] = static_cast<std::uint8_t>(responder_role);
  out[2] = keep_conn_flag;
  std::memset(out + 3, 0, 5);
  out += 8;
  for (std::size_t off = 0; off < stream; off += max_content) {
    std::size_t n = stream - off < max_content ? stream - off : max_content;
    write_header(out, record_type::params, request_id, n);
    out += header_size;
    std::memcpy(out, pairs.data() + off, n);
    out += n;
  }
  write_header(out, record_type::params, request_id, 0);
  out += header_size;
  if (close_stdin) {
    write_header(out, stdin_, request_id, 0);
    out += header_size;
  }
  return r;
}

bool decode_params(const std::uint8_t* data, std::size_t size, param_list& out) {
  auto get_len = [&](std::size_t& pos, std::size_t& n) {
    if (pos >= size)
      return false;
    if (data[pos] < 128) {
      n = data[pos++];
      return true;
    }
    if (pos + 4 > size)
      return false;
    n = (static_cast<std::size_t>(data[pos] & 0x7f) << 24) |
        (static_cast<std::size_t>(data[pos + 1]) << 16) |
        (static_cast<std::size_t>(data[pos + 2]) << 8) | data[pos + 3];
    pos += 4;
    return true;
  };
  std::size_t pos = 0;
  while (pos < size) {
    std::size_t nl = 0, vl = 0;
    if (!get_len(pos, nl) || !get_len(pos, vl) || size - pos < nl || size - pos - nl < vl)
      return false;
    std::string name(reinterpret_cast<const char*>(data + pos), nl);
    pos += nl;
    std::string value(reinterpret_cast<const char*>(data + pos), vl);
    pos += vl;
    out.emplace_back(std::move(name), std::move(value));
  }
  return true;
}

} // namespace kallithea_isapi::fastcgi
