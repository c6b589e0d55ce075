#include "chunk_parser.h"

#include "text_encoding.h"

#include <algorithm>

namespace isapi_host {

ChunkParser::Result ChunkParser::fail(const std::string& why) {
  state_ = State::error;
  error_ = why;
  return Result::error;
}

ChunkParser::Result ChunkParser::feed(const std::uint8_t* data, std::size_t size,
                                      std::vector<std::uint8_t>& payload) {
  std::size_t i = 0;
  while (i < size) {
    const std::uint8_t c = data[i];
    switch (state_) {
    case State::size: {
      const int digit = hex_value(static_cast<char>(c));
      if (digit >= 0) {
        if (++size_digits_ > 15)
          return fail("chunk size has more than 15 hex digits");
        chunk_left_ = chunk_left_ * 16 + static_cast<unsigned>(digit);
      } else if (size_digits_ == 0) {
        return fail("chunk size expected, got byte 0x" + std::to_string(c));
      } else if (c == ';') {
        state_ = State::extension;
      } else if (c == '\r') {
        state_ = State::size_lf;
      } else {
        return fail("unexpected byte after a chunk size");
      }
      ++i;
      break;
    }
    case State::extension:
      if (c == '\r')
        state_ = State::size_lf;
      else if (c == '\n' || c == 0)
        return fail("bare LF or NUL in a chunk extension");
      ++i;
      break;
    case State::size_lf:
      if (c != '\n')
        return fail("chunk size line not ended by CRLF");
      ++i;
      size_digits_ = 0;
      if (chunk_left_ == 0) {
        state_ = State::trailer_start;
      } else {
        state_ = State::data;
      }
      break;
    case State::data: {
      const std::size_t n =
          static_cast<std::size_t>(std::min<std::uint64_t>(chunk_left_, size - i));
      payload.insert(payload.end(), data + i, data + i + n);
      chunk_left_ -= n;
      i += n;
      if (chunk_left_ == 0)
        state_ = State::data_cr;
      break;
    }
    case State::data_cr:
      if (c != '\r')
        return fail("chunk data longer than its size (no CRLF after it)");
      state_ = State::data_lf;
      ++i;
      break;
    case State::data_lf:
      if (c != '\n')
        return fail("chunk data not followed by CRLF");
      state_ = State::size;
      ++i;
      break;
    case State::trailer_start:
      if (c == '\r') {
        state_ = State::final_lf;
      } else if (c == '\n') {
        return fail("bare LF after the last chunk");
      } else {
        state_ = State::trailer;
      }
      ++i;
      break;
    case State::trailer:
      if (c == '\r')
        state_ = State::trailer_lf;
      else if (c == '\n' || c == 0)
        return fail("bare LF or NUL in a trailer field");
      ++i;
      break;
    case State::trailer_lf:
      if (c != '\n')
        return fail("trailer field not ended by CRLF");
      state_ = State::trailer_start;
      ++i;
      break;
    case State::final_lf:
      if (c != '\n')
        return fail("last chunk not ended by CRLF");
      state_ = State::done;
      ++i;
      break;
    case State::done:
      return fail("bytes after the last chunk");
    case State::error:
      return Result::error;
    }
  }
  return state_ == State::done ? Result::done : Result::more;
}

} // namespace isapi_host
