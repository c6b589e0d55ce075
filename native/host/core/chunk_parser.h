// A strict, incremental parser of the chunked transfer coding an extension writes itself
// (Transfer-Encoding: chunked in its header block). It hands on only the payload, which
// Node frames again; every framing error is caught where it lands, so a broken chunk
// stream is a violation (verifier) or an aborted connection, never a well-formed stream
// the client could not tell from a correct one. State lives in the object: a chunk head
// split across two WriteClient calls resumes.
#ifndef KALLITHEA_ISAPI_HOST_CHUNK_PARSER_H
#define KALLITHEA_ISAPI_HOST_CHUNK_PARSER_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace isapi_host {

class ChunkParser {
public:
  enum class Result { more, done, error };

  /// Parses `size` more bytes, appending chunk payload to `payload`.
  Result feed(const std::uint8_t* data, std::size_t size, std::vector<std::uint8_t>& payload);
  bool done() const { return state_ == State::done; }
  /// What was wrong, after Result::error.
  const std::string& error() const { return error_; }

private:
  enum class State {
    size,          ///< hex digits of a chunk size
    extension,     ///< ";name=value" after the size, up to CR
    size_lf,       ///< LF after the size line's CR
    data,          ///< chunk payload
    data_cr,       ///< CR after the payload
    data_lf,       ///< LF after the payload
    trailer_start, ///< a trailer field or the final CRLF
    trailer,       ///< a trailer field, up to CR
    trailer_lf,    ///< LF after a trailer field
    final_lf,      ///< LF of the final CRLF
    done,
    error,
  };
  Result fail(const std::string& why);

  State state_ = State::size;
  std::uint64_t chunk_left_ = 0;
  unsigned size_digits_ = 0;
  std::string error_;
};

} // namespace isapi_host

#endif
