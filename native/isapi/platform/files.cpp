#include "platform/files.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>

#if defined(_WIN32)
#include <fcntl.h>
#include <io.h>
#include <windows.h>
#else
#include <sys/stat.h>
#endif

namespace kallithea_isapi {

#if defined(_WIN32)

std::wstring widen(const std::string& utf8) {
  if (utf8.empty())
    return {};
  int n = MultiByteToWideChar(CP_UTF8, 0, utf8.data(), static_cast<int>(utf8.size()), nullptr, 0);
  std::wstring w(static_cast<std::size_t>(n), L'\0');
  MultiByteToWideChar(CP_UTF8, 0, utf8.data(), static_cast<int>(utf8.size()), w.data(), n);
  return w;
}

std::string narrow(const std::wstring& utf16) {
  if (utf16.empty())
    return {};
  int n = WideCharToMultiByte(CP_UTF8, 0, utf16.data(), static_cast<int>(utf16.size()), nullptr, 0,
                              nullptr, nullptr);
  std::string s(static_cast<std::size_t>(n), '\0');
  WideCharToMultiByte(CP_UTF8, 0, utf16.data(), static_cast<int>(utf16.size()), s.data(), n,
                      nullptr, nullptr);
  return s;
}

namespace {

std::string windows_error_text(DWORD code) {
  wchar_t* msg = nullptr;
  DWORD n = FormatMessageW(FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM |
                               FORMAT_MESSAGE_IGNORE_INSERTS,
                           nullptr, code, 0, reinterpret_cast<wchar_t*>(&msg), 0, nullptr);
  std::string text;
  if (n && msg) {
    text = narrow(std::wstring(msg, n));
    while (!text.empty() &&
           (text.back() == '\n' || text.back() == '\r' || text.back() == ' ' || text.back() == '.'))
      text.pop_back();
  }
  if (msg)
    LocalFree(msg);
  return (text.empty() ? std::string("error") : text) + " (Windows error " + std::to_string(code) +
         ")";
}

} // namespace

read_failure read_file(const std::string& path, std::string& out, std::string& reason) {
  out.clear();
  HANDLE h = CreateFileW(widen(path).c_str(), GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE,
                         nullptr, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr);
  if (h == INVALID_HANDLE_VALUE) {
    DWORD code = GetLastError();
    reason = windows_error_text(code);
    return code == ERROR_FILE_NOT_FOUND || code == ERROR_PATH_NOT_FOUND ? read_failure::missing
                                                                        : read_failure::unreadable;
  }
  char buf[16384];
  DWORD n = 0;
  for (;;) {
    if (!ReadFile(h, buf, sizeof buf, &n, nullptr)) {
      reason = windows_error_text(GetLastError());
      CloseHandle(h);
      out.clear();
      return read_failure::unreadable;
    }
    if (n == 0)
      break;
    out.append(buf, n);
  }
  CloseHandle(h);
  return read_failure::none;
}

bool path_exists(const std::string& path) {
  return GetFileAttributesW(widen(path).c_str()) != INVALID_FILE_ATTRIBUTES;
}

std::FILE* open_for_append(const std::string& path, std::string& reason) {
  // FILE_APPEND_DATA without FILE_WRITE_DATA: every write lands at the end of the file, as
  // one operation. The bridge's output goes to the same file through its own handle; the C
  // runtime's "a" mode seeks and then writes, and would overwrite lines written in between.
  HANDLE h = CreateFileW(widen(path).c_str(), FILE_APPEND_DATA, FILE_SHARE_READ | FILE_SHARE_WRITE,
                         nullptr, OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, nullptr);
  if (h == INVALID_HANDLE_VALUE) {
    reason = windows_error_text(GetLastError());
    return nullptr;
  }
  int fd = _open_osfhandle(reinterpret_cast<intptr_t>(h), _O_APPEND | _O_BINARY);
  std::FILE* f = fd == -1 ? nullptr : _fdopen(fd, "ab");
  if (!f) {
    reason = std::strerror(errno);
    if (fd != -1)
      _close(fd);
    else
      CloseHandle(h);
  }
  return f;
}

std::string environment_variable(const char* name) {
  std::wstring wname = widen(name);
  DWORD n = GetEnvironmentVariableW(wname.c_str(), nullptr, 0);
  if (n == 0)
    return {};
  std::wstring value(n, L'\0');
  n = GetEnvironmentVariableW(wname.c_str(), value.data(), n);
  value.resize(n);
  return narrow(value);
}

const char* path_separator() {
  return "\\";
}

#else

read_failure read_file(const std::string& path, std::string& out, std::string& reason) {
  out.clear();
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    int e = errno;
    reason = std::strerror(e);
    return e == ENOENT || e == ENOTDIR ? read_failure::missing : read_failure::unreadable;
  }
  char buf[16384];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
    out.append(buf, n);
  bool failed = std::ferror(f) != 0;
  int e = errno;
  std::fclose(f);
  if (failed) {
    reason = std::strerror(e); // e.g. EISDIR: the name is a folder
    out.clear();
    return read_failure::unreadable;
  }
  return read_failure::none;
}

bool path_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::FILE* open_for_append(const std::string& path, std::string& reason) {
  std::FILE* f = std::fopen(path.c_str(), "ab");
  if (!f)
    reason = std::strerror(errno);
  return f;
}

std::string environment_variable(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

const char* path_separator() {
  return "/";
}

#endif

namespace {

bool is_separator(char c) {
#if defined(_WIN32)
  return c == '\\' || c == '/';
#else
  return c == '/';
#endif
}

bool is_absolute_path(const std::string& p) {
  if (!p.empty() && is_separator(p[0]))
    return true;
#if defined(_WIN32)
  return p.size() > 2 && p[1] == ':' && is_separator(p[2]);
#else
  return false;
#endif
}

} // namespace

std::string resolve_executable(const std::string& name, const std::string& dll_dir,
                               const std::string& path_list) {
  if (name.empty())
    return {};
  if (is_absolute_path(name))
    return path_exists(name) ? name : std::string();
  std::string candidate_name = name;
#if defined(_WIN32)
  const char list_separator = ';';
  auto dot = name.find_last_of('.');
  auto slash = name.find_last_of("\\/");
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash))
    candidate_name += ".exe";
#else
  const char list_separator = ':';
#endif
  bool has_folder = false;
  for (char c : name)
    has_folder = has_folder || is_separator(c);
  std::string in_dll_dir = dll_dir + path_separator() + candidate_name;
  if (has_folder || path_exists(in_dll_dir))
    return path_exists(in_dll_dir) ? in_dll_dir : std::string();
  std::size_t start = 0;
  while (start <= path_list.size()) {
    std::size_t end = path_list.find(list_separator, start);
    if (end == std::string::npos)
      end = path_list.size();
    std::string dir = path_list.substr(start, end - start);
#if defined(_WIN32)
    if (dir.size() >= 2 && dir.front() == '"' && dir.back() == '"')
      dir = dir.substr(1, dir.size() - 2);
#endif
    if (!dir.empty() && is_absolute_path(dir)) { // a relative PATH entry means the cwd
      std::string candidate =
          dir + (is_separator(dir.back()) ? "" : path_separator()) + candidate_name;
      if (path_exists(candidate))
        return candidate;
    }
    start = end + 1;
  }
  return {};
}

} // namespace kallithea_isapi
