// Paths are UTF-8 everywhere inside the DLL. On Windows every file API taking a path goes
// through here and uses the wide (UTF-16) call: the narrow ones read the path in the ANSI
// code page, so a folder named spawn-д or 中 would not be found (or found mangled).
#pragma once

#include <cstdio>
#include <string>

namespace kallithea_isapi {

#if defined(_WIN32)
/// UTF-8 to UTF-16 and back (invalid sequences become U+FFFD, never an empty string).
std::wstring widen(const std::string& utf8);
std::string narrow(const std::wstring& utf16);
#endif

/// Why a file could not be read: it is not there, or it is there but cannot be read.
enum class read_failure { none, missing, unreadable };

/// Reads the whole file. On failure `out` is empty and `reason` says what the OS said.
read_failure read_file(const std::string& path, std::string& out, std::string& reason);

/// True when `path` names something that exists (a file or a folder).
bool path_exists(const std::string& path);

/// fopen(path, "ab") with a UTF-8 path; nullptr with `reason` set when it cannot be opened.
std::FILE* open_for_append(const std::string& path, std::string& reason);

/// An environment variable as UTF-8 (Windows: read wide); empty when unset.
std::string environment_variable(const char* name);

/// The platform's path separator as a string ("\\" or "/").
const char* path_separator();

/// The executable the supervisor starts for `name` (the ini's node): a path, absolute or
/// relative to `dll_dir`, as given; a bare name in `dll_dir` first, then in each folder of
/// `path_list` (PATH; Windows: ';'-separated and ".exe" added to a name without one) — under
/// w3wp the current folder is system32\inetsrv, never a place to look. Empty when not found.
std::string resolve_executable(const std::string& name, const std::string& dll_dir,
                               const std::string& path_list);

} // namespace kallithea_isapi
