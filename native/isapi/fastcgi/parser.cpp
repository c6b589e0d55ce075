#include "fastcgi/parser.hpp"

#include "fastcgi/record.hpp"

#include <cstring>

namespace kallithea_isapi::fastcgi {

parse_result record_parser::end_record(record_piece& out) {
  out = record_piece{};
  out.type = type_;
  out.record_end = true;
  if (type_ == end_request) {
    out.app_status = (std::uint32_t{end_body_[0]} << 24) | (std::uint32_t{end_body_[1]} << 16) |
                     (std::uint32_t{end_body_[2]} << 8) | end_body_[3];
    out.protocol_status = end_body_[4];
  }
  if (padding_left_) {
    state_ = state::padding; // the padding still belongs to this record
  } else {
    state_ = state::version;
    in_record_ = false;
  }
  return parse_result::ok;
}

parse_result record_parser::parse(const std::uint8_t*& pos, const std::uint8_t* end,
                                  record_piece& out) {
  if (failed_)
    return parse_result::error;
  if (state_ == state::record_done)
    return end_record(out);
  while (pos < end) {
    std::uint8_t ch = *pos;
    switch (state_) {
    case state::version:
      if (ch != version_1)
        return fail("bridge sent unsupported FastCGI protocol version");
      in_record_ = true;
      ++pos;
      state_ = state::type;
      break;
    case state::type:
      if (ch != stdout_ && ch != stderr_ && ch != end_request)
        return fail("bridge sent unexpected FastCGI record type");
      type_ = ch;
      ++pos;
      state_ = state::request_id_hi;
      break;
    case state::request_id_hi:
      request_id_ = static_cast<std::uint16_t>(ch << 8);
      ++pos;
      state_ = state::request_id_lo;
      break;
    case state::request_id_lo:
      request_id_ = static_cast<std::uint16_t>(request_id_ | ch);
      if (request_id_ != request_id)
        return fail("bridge sent a FastCGI record for an unknown request id");
      ++pos;
      state_ = state::content_length_hi;
      break;
    case state::content_length_hi:
      content_length_ = std::size_t{ch} << 8;
      ++pos;
      state_ = state::content_length_lo;
      break;
    case state::content_length_lo:
      content_length_ |= ch;
      ++pos;
      state_ = state::padding_length;
      break;
    case state::padding_length:
      padding_left_ = ch;
      ++pos;
      state_ = state::reserved;
      break;
    case state::reserved:
      ++pos;
      content_left_ = content_length_;
      end_body_size_ = 0;
      if (type_ == end_request && content_length_ != 8)
        return fail("bridge sent a FastCGI END_REQUEST of the wrong length");
      if (content_left_ == 0)
        return end_record(out);
      state_ = state::content;
      break;
    case state::content: {
      std::size_t n = static_cast<std::size_t>(end - pos);
      if (n > content_left_)
        n = content_left_;
      const std::uint8_t* start = pos;
      pos += n;
      content_left_ -= n;
      if (type_ == end_request) {
        std::memcpy(end_body_ + end_body_size_, start, n);
        end_body_size_ += n;
        if (content_left_ == 0)
          return end_record(out);
        break;
      }
      out = record_piece{};
      out.type = type_;
      out.data = start;
      out.size = n;
      if (content_left_ == 0)
        state_ = state::record_done; // the end event comes on the next call
      return parse_result::ok;
    }
    case state::record_done:
      return end_record(out);
    case state::padding: {
      std::size_t n = static_cast<std::size_t>(end - pos);
      if (n > padding_left_)
        n = padding_left_;
      pos += n;
      padding_left_ -= n;
      if (padding_left_ == 0) {
        state_ = state::version;
        in_record_ = false;
      }
      break;
    }
    }
  }
  return parse_result::again;
}

} // namespace kallithea_isapi::fastcgi
