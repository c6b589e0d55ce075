// libFuzzer target for the DLL's FastCGI record parser (fastcgi/parser.*), which reads what
// the bridge sends. Beyond not crashing, it checks on every input that:
// - parse() only moves pos forward and never past the end of its input;
// - each content piece points inside the bytes that call consumed, and no record's content
//   adds up to more than 65535 bytes;
// - an error is final: parse() keeps returning it;
// - the events do not depend on how the bytes arrive: the input whole, split in two at
//   every byte (8 spread points for long inputs), and one byte at a time (up to 256
//   bytes) all give
//   the same transcript (records with their content, END_REQUEST's statuses, the error,
//   and whether the parser stopped between records).
#include "fastcgi/parser.hpp"
#include "fastcgi/record.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

namespace kf = kallithea_isapi::fastcgi;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "record_parser_fuzz: invariant broken: %s\n", what);
    std::abort();
  }
}

/// Feeds `data` in chunks ending at `cuts` (ascending, the last is its size) and returns what
/// the parser made of it.
std::string transcript(const std::uint8_t* data, const std::vector<std::size_t>& cuts) {
  kf::record_parser parser;
  std::string out, content;
  std::size_t from = 0;
  for (std::size_t cut : cuts) {
    const std::uint8_t* pos = data + from;
    const std::uint8_t* end = data + cut;
    for (;;) {
      const std::uint8_t* before = pos;
      kf::record_piece piece;
      kf::parse_result r = parser.parse(pos, end, piece);
      check(pos >= before && pos <= end, "pos moved backwards or past the end");
      if (r == kf::parse_result::again) {
        check(pos == end, "again before the input was used up");
        break;
      }
      if (r == kf::parse_result::error) {
        kf::record_piece again;
        const std::uint8_t* p = pos;
        check(parser.parse(p, end, again) == kf::parse_result::error, "error not final");
        return out + "error: " + parser.error() + "\n";
      }
      if (piece.size > 0) {
        check(piece.data >= before && piece.data + piece.size <= pos,
              "piece outside the bytes consumed by this call");
        check(piece.size <= kf::max_content, "piece longer than a record");
        content.append(reinterpret_cast<const char*>(piece.data), piece.size);
      }
      check(content.size() <= kf::max_content, "record content longer than 65535");
      if (piece.record_end) {
        out += "record type " + std::to_string(piece.type) + " [" + content + "]";
        if (piece.type == kf::end_request)
          out += " app " + std::to_string(piece.app_status) + " protocol " +
                 std::to_string(piece.protocol_status);
        out += "\n";
        content.clear();
      }
    }
    from = cut;
  }
  return out + "again, at boundary " + std::to_string(parser.at_record_boundary()) +
         ", partial content " + std::to_string(content.size()) + "\n";
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // A copy of exactly `size` bytes, so ASan sees any read past the input.
  std::vector<std::uint8_t> input(data, data + size);
  const std::uint8_t* in = input.data();
  const std::string whole = transcript(in, {size});

  // Every split point of short inputs; for longer ones 8 spread points, shifted by the
  // input's first bytes so that over many inputs every offset gets its turn (checking all
  // of them made the run ten times slower, and the fuzzer's speed is its reach).
  std::size_t step = size <= 32 ? 1 : size / 8;
  std::size_t shift = size <= 32 ? 0 : (std::size_t{in[0]} << 8 | in[1]) % step;
  for (std::size_t cut = shift; cut <= size; cut += step)
    check(transcript(in, {cut, size}) == whole, "a split changed the events");
  if (size == 0 || size > 256)
    return 0;
  std::vector<std::size_t> bytewise;
  for (std::size_t i = 1; i <= size; ++i)
    bytewise.push_back(i);
  check(transcript(in, bytewise) == whole, "byte-by-byte feeding changed the events");
  return 0;
}
