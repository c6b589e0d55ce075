// The byte-level conversions IIS applies to URLs and names: percent-decoding, the
// system ANSI code page (Windows-1252 here) for the ANSI server variables, UTF-16LE for
// the UNICODE_ ones.
#ifndef KALLITHEA_ISAPI_HOST_TEXT_ENCODING_H
#define KALLITHEA_ISAPI_HOST_TEXT_ENCODING_H

#include <string>
#include <string_view>

namespace isapi_host {

/// %XX -> byte; a malformed escape stays as written. `%2F` becomes `/` as http.sys does.
std::string percent_decode(const std::string& raw);

/// Removes "." and ".." segments (http.sys canonicalises the path before IIS sees it).
std::string remove_dot_segments(const std::string& path);

/// The path of a raw request-target as http.sys hands it on, as UTF-8: the query cut off,
/// percent-decoded (raw bytes >= 0x80 count as their escapes), dot segments removed, and
/// the bytes read as UTF-8, or, when they are not valid UTF-8, as the ANSI code page
/// (http.sys's defaults FavorUTF8=1 and EnableNonUTF8=1, KB 820129). The
/// virtual-directory gate and the path server variables both use this one result.
std::string canonical_path(const std::string& raw_target);

/// Whether the bytes are valid UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
bool is_utf8(const std::string& bytes);

/// Windows-1252 -> UTF-8; the five bytes 1252 leaves unassigned map to U+0081 etc., as
/// Windows converts them.
std::string ansi_to_utf8(const std::string& ansi);

/// Whether a canonical path lies in the virtual directory (ASCII case-insensitive, as IIS
/// matches application paths); "/" holds everything.
bool inside_virtual_dir(const std::string& canonical, const std::string& virtual_dir);

/// UTF-8 -> Windows-1252; characters the code page lacks become '?', as IIS does for the
/// ANSI variables. Bytes that are not valid UTF-8 are taken as already being 1252.
std::string utf8_to_ansi(const std::string& utf8);

/// UTF-8 -> UTF-16LE bytes (invalid bytes become U+FFFD).
std::string utf8_to_utf16le(const std::string& utf8);

/// ASCII upper case (header and variable names are ASCII).
std::string ascii_upper(std::string s);
/// The value of a hex digit, or -1.
int hex_value(char c);

/// Case-insensitive ASCII equality.
bool ascii_iequals(std::string_view a, std::string_view b);
/// Whether `s` begins with `prefix`, ASCII case-insensitively.
bool ascii_istarts_with(std::string_view s, std::string_view prefix);

} // namespace isapi_host

#endif
