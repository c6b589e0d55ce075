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

std::size_t pair_size(std::string_view name, std::string_view value) {
  return length_size(name.size()) + length_size(value.size()) + name.size() + value.size();
}

void params_stream::add(std::string_view name, std::string_view value) {
  if (error_ != params_error::none)
    return;
  if (value.size() > limits_.max_value || name.size() > limits_.max_value) {
    error_ = params_error::value_too_large;
    offending_name_ = name;
    return;
  }
  std::size_t size = pair_size(name, value);
  if (bytes_.size() + size > limits_.max_total) {
    error_ = params_error::params_too_large;
    offending_name_ = name;
    return;
  }
  if (bytes_.capacity() == 0)
    bytes_.reserve(usual_size); // one allocation for a usual request's pairs
  std::size_t at = bytes_.size();
  bytes_.resize(at + size);
  std::uint8_t* p = bytes_.data() + at;
  p = put_length(p, name.size());
  p = put_length(p, value.size());
  std::memcpy(p, name.data(), name.size());
  p += name.size();
  if (!value.empty())
    std::memcpy(p, value.data(), value.size());
}

void params_stream::rewind(std::size_t mark) {
  if (mark < bytes_.size())
    bytes_.resize(mark);
  error_ = params_error::none;
  offending_name_.clear();
}

void encode_request_start(const params_stream& pairs, bool close_stdin,
                          std::vector<std::uint8_t>& out) {
  const std::vector<std::uint8_t>& stream = pairs.bytes();
  std::size_t records = (stream.size() + max_content - 1) / max_content;
  std::size_t total = header_size + 8                         // BEGIN_REQUEST
                      + records * header_size + stream.size() // PARAMS
                      + header_size                           // empty PARAMS
                      + (close_stdin ? header_size : 0);
  out.resize(total);
  std::uint8_t* p = out.data();
  write_header(p, begin_request, request_id, 8);
  p += header_size;
  p[0] = 0;
  p[1] = static_cast<std::uint8_t>(responder_role);
  p[2] = keep_conn_flag;
  std::memset(p + 3, 0, 5);
  p += 8;
  for (std::size_t off = 0; off < stream.size(); off += max_content) {
    std::size_t n = stream.size() - off < max_content ? stream.size() - off : max_content;
    write_header(p, record_type::params, request_id, n);
    p += header_size;
    std::memcpy(p, stream.data() + off, n);
    p += n;
  }
  write_header(p, record_type::params, request_id, 0);
  p += header_size;
  if (close_stdin)
    write_header(p, stdin_, request_id, 0);
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
