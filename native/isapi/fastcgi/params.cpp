#include "fastcgi/params.hpp"

#include "fastcgi/record.hpp"

#include <cassert>
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
  char* p = open_value(name, value.size());
  if (!p)
    return;
  if (!value.empty())
    std::memcpy(p, value.data(), value.size());
  close_value(value.size());
}

char* params_stream::open_value(std::string_view name, std::size_t room) {
  if (error_ != params_error::none)
    return nullptr;
  if (name.size() > limits_.max_value) {
    error_ = params_error::value_too_large;
    offending_name_ = name;
    return nullptr;
  }
  if (bytes_.capacity() == 0)
    bytes_.reserve(usual_size); // one allocation for a usual request's pairs
  trim();
  // The value's length is given 4 bytes until its size is known; close_value() moves the
  // name and the value up when 1 byte does.
  open_at_ = pairs_end_;
  open_room_ = room;
  std::size_t name_at = open_at_ + length_size(name.size()) + 4;
  bytes_.resize(name_at + name.size() + room);
  put_length(bytes_.data() + open_at_, name.size());
  std::memcpy(bytes_.data() + name_at, name.data(), name.size());
  return reinterpret_cast<char*>(bytes_.data() + name_at + name.size());
}

std::string_view params_stream::close_value(std::size_t size) {
  assert(size <= open_room_ && "close_value: more than the room asked for");
  std::uint8_t* pair = bytes_.data() + open_at_;
  std::size_t name_size = pair[0] < 128 ? pair[0]
                                        : (std::size_t{pair[0] & 0x7fu} << 24) |
                                              (std::size_t{pair[1]} << 16) |
                                              (std::size_t{pair[2]} << 8) | pair[3];
  std::uint8_t* value_length = pair + length_size(name_size);
  std::string_view name(reinterpret_cast<const char*>(value_length + 4), name_size);
  std::size_t pair_bytes = length_size(name_size) + length_size(size) + name_size + size;
  params_error e = size > limits_.max_value ? params_error::value_too_large
                   : pairs_end_ - front_room + pair_bytes > limits_.max_total
                       ? params_error::params_too_large
                       : params_error::none;
  if (e != params_error::none) {
    error_ = e;
    offending_name_ = name;
    drop_value();
    return {};
  }
  if (size < 128) {
    *value_length = static_cast<std::uint8_t>(size);
    std::memmove(value_length + 1, value_length + 4, name_size + size);
  } else {
    put_length(value_length, size);
  }
  pairs_end_ = open_at_ + pair_bytes;
  bytes_.resize(pairs_end_);
  return {reinterpret_cast<const char*>(bytes_.data() + pairs_end_ - size), size};
}

void params_stream::drop_value() {
  trim();
}

void params_stream::rewind(std::size_t mark) {
  if (mark < pairs_end_)
    pairs_end_ = mark < front_room ? front_room : mark;
  if (!bytes_.empty())
    trim();
  error_ = params_error::none;
  offending_name_.clear();
}

namespace {

/// BEGIN_REQUEST for the responder role, asking the bridge to keep the connection: 16 bytes.
std::uint8_t* write_begin_request(std::uint8_t* p) {
  write_header(p, begin_request, request_id, 8);
  p += header_size;
  p[0] = 0;
  p[1] = static_cast<std::uint8_t>(responder_role);
  p[2] = keep_conn_flag;
  std::memset(p + 3, 0, 5);
  return p + 8;
}

} // namespace

byte_range params_stream::frame(bool close_stdin, byte_buffer& spill) {
  assert(error_ == params_error::none && "frame: the stream was refused");
  byte_range content = pairs();
  if (content.size == 0 || content.size > max_content) {
    encode_request_start(content, close_stdin, spill);
    return {spill.data(), spill.size()};
  }
  trim();
  write_header(write_begin_request(bytes_.data()), record_type::params, request_id, content.size);
  bytes_.resize(pairs_end_ + header_size + (close_stdin ? header_size : 0));
  std::uint8_t* p = bytes_.data() + pairs_end_;
  write_header(p, record_type::params, request_id, 0);
  if (close_stdin)
    write_header(p + header_size, stdin_, request_id, 0);
  return {bytes_.data(), bytes_.size()};
}

void encode_request_start(byte_range pairs, bool close_stdin, byte_buffer& out) {
  std::size_t records = (pairs.size + max_content - 1) / max_content;
  std::size_t total = header_size + 8                      // BEGIN_REQUEST
                      + records * header_size + pairs.size // PARAMS
                      + header_size                        // empty PARAMS
                      + (close_stdin ? header_size : 0);
  out.resize(total);
  std::uint8_t* p = write_begin_request(out.data());
  for (std::size_t off = 0; off < pairs.size; off += max_content) {
    std::size_t n = pairs.size - off < max_content ? pairs.size - off : max_content;
    write_header(p, record_type::params, request_id, n);
    p += header_size;
    std::memcpy(p, pairs.data + off, n);
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
