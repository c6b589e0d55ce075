// The ISAPI extension ABI, shared by the extension DLL (native/isapi) and the host that
// loads it (native/host).
//
// On Windows this is the SDK's <httpext.h>. On POSIX there is no SDK, so the same
// structures are declared here with the Windows field order and the Windows constant
// values, so that one source builds for IIS and for isapi-host. Facts and offsets:
// shared/reference/isapi.md.
//
// POSIX choices (as Apache's mod_isapi makes them):
//   DWORD is uint32_t (not unsigned long, which is 64-bit on LP64), BOOL is int,
//   HCONN is void*, WINAPI is empty, and SetLastError/GetLastError travel through errno
//   carrying the Windows error numbers.
#ifndef KALLITHEA_ISAPI_ABI_H
#define KALLITHEA_ISAPI_ABI_H

#if defined(_WIN32)

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <httpext.h>

inline void isapi_set_last_error(DWORD code) {
  SetLastError(code);
}
inline DWORD isapi_get_last_error() {
  return GetLastError();
}

#else // POSIX

#include <cerrno>
#include <cstdint>

using DWORD = std::uint32_t;
using BOOL = int;
using USHORT = unsigned short;
using BYTE = unsigned char;
using LPBYTE = BYTE*;
using LPSTR = char*;
using LPCSTR = const char*;
using LPVOID = void*;
using LPDWORD = DWORD*;
using HANDLE = void*;
using HCONN = void*;

#ifndef TRUE
#define TRUE 1
#endif
#ifndef FALSE
#define FALSE 0
#endif
#define WINAPI

#define HSE_VERSION_MAJOR 8
#define HSE_VERSION_MINOR 0
#define HSE_VERSION ((DWORD)((HSE_VERSION_MINOR) | ((HSE_VERSION_MAJOR) << 16)))
#define HSE_MAX_EXT_DLL_NAME_LEN 256
#define HSE_LOG_BUFFER_LEN 80

// HttpExtensionProc return values.
#define HSE_STATUS_SUCCESS 1
#define HSE_STATUS_SUCCESS_AND_KEEP_CONN 2
#define HSE_STATUS_PENDING 3
#define HSE_STATUS_ERROR 4

// ServerSupportFunction requests.
#define HSE_REQ_SEND_URL_REDIRECT_RESP 1
#define HSE_REQ_SEND_URL 2
#define HSE_REQ_SEND_RESPONSE_HEADER 3
#define HSE_REQ_DONE_WITH_SESSION 4
#define HSE_REQ_MAP_URL_TO_PATH 1001
#define HSE_REQ_APPEND_LOG_PARAMETER 1003
#define HSE_REQ_IO_COMPLETION 1005
#define HSE_REQ_TRANSMIT_FILE 1006
#define HSE_REQ_IS_KEEP_CONN 1008
#define HSE_REQ_ASYNC_READ_CLIENT 1010
#define HSE_REQ_GET_IMPERSONATION_TOKEN 1011
#define HSE_REQ_ABORTIVE_CLOSE 1014
#define HSE_REQ_SEND_RESPONSE_HEADER_EX 1016
#define HSE_REQ_CLOSE_CONNECTION 1017
#define HSE_REQ_IS_CONNECTED 1018
#define HSE_REQ_EXEC_URL 1026
#define HSE_REQ_SEND_CUSTOM_ERROR 1028
#define HSE_REQ_REPORT_UNHEALTHY 1032
#define HSE_REQ_VECTOR_SEND 1037
#define HSE_REQ_SET_FLUSH_FLAG 1043

// Flags for WriteClient, ASYNC_READ_CLIENT and friends.
#define HSE_IO_SYNC 0x00000001
#define HSE_IO_ASYNC 0x00000002
#define HSE_IO_DISCONNECT_AFTER_SEND 0x00000004
#define HSE_IO_SEND_HEADERS 0x00000008
#define HSE_IO_FINAL_SEND 0x00000010
#define HSE_IO_CACHE_RESPONSE 0x00000020
#define HSE_IO_TRY_SKIP_CUSTOM_ERRORS 0x00000040
#define HSE_IO_NODELAY 0x00001000

// HSE_VECTOR_ELEMENT::ElementType.
#define HSE_VECTOR_ELEMENT_TYPE_MEMORY_BUFFER 0
#define HSE_VECTOR_ELEMENT_TYPE_FILE_HANDLE 1

// TerminateExtension flags: the SDK values (Apache's mod_isapi.h has them swapped).
#define HSE_TERM_ADVISORY_UNLOAD 0x00000001
#define HSE_TERM_MUST_UNLOAD 0x00000002

// Win32 error numbers used by the ISAPI contract.
#define ERROR_SUCCESS 0
#define ERROR_WRITE_FAULT 29
#define ERROR_READ_FAULT 30
#define ERROR_HANDLE_EOF 38
#define ERROR_NETNAME_DELETED 64
#define ERROR_INVALID_PARAMETER 87
#define ERROR_INSUFFICIENT_BUFFER 122
#define ERROR_NO_DATA 232
#define ERROR_MORE_DATA 234
#define ERROR_OPERATION_ABORTED 995
#define ERROR_IO_PENDING 997
#define ERROR_INVALID_INDEX 1413

struct HSE_VERSION_INFO {
  DWORD dwExtensionVersion;
  char lpszExtensionDesc[HSE_MAX_EXT_DLL_NAME_LEN];
};
using LPHSE_VERSION_INFO = HSE_VERSION_INFO*;

struct EXTENSION_CONTROL_BLOCK {
  DWORD cbSize;
  DWORD dwVersion;
  HCONN ConnID;
  DWORD dwHttpStatusCode;
  char lpszLogData[HSE_LOG_BUFFER_LEN];
  LPSTR lpszMethod;
  LPSTR lpszQueryString;
  LPSTR lpszPathInfo;
  LPSTR lpszPathTranslated;
  DWORD cbTotalBytes;
  DWORD cbAvailable;
  LPBYTE lpbData;
  LPSTR lpszContentType;
  BOOL(WINAPI* GetServerVariable)
  (HCONN hConn, LPSTR lpszVariableName, LPVOID lpvBuffer, LPDWORD lpdwSize);
  BOOL(WINAPI* WriteClient)(HCONN ConnID, LPVOID Buffer, LPDWORD lpdwBytes, DWORD dwReserved);
  BOOL(WINAPI* ReadClient)(HCONN ConnID, LPVOID lpvBuffer, LPDWORD lpdwSize);
  BOOL(WINAPI* ServerSupportFunction)
  (HCONN hConn, DWORD dwHSERequest, LPVOID lpvBuffer, LPDWORD lpdwSize, LPDWORD lpdwDataType);
};
using LPEXTENSION_CONTROL_BLOCK = EXTENSION_CONTROL_BLOCK*;

using PFN_HSE_IO_COMPLETION = void(WINAPI*)(EXTENSION_CONTROL_BLOCK* pECB, LPVOID pContext,
                                            DWORD cbIO, DWORD dwError);

struct HSE_SEND_HEADER_EX_INFO {
  LPCSTR pszStatus;
  LPCSTR pszHeader;
  DWORD cchStatus;
  DWORD cchHeader;
  BOOL fKeepConn;
};
using LPHSE_SEND_HEADER_EX_INFO = HSE_SEND_HEADER_EX_INFO*;

/// HSE_REQ_VECTOR_SEND: one piece of the response (a memory buffer, or a file's range).
struct HSE_VECTOR_ELEMENT {
  DWORD ElementType;
  LPVOID pvContext; ///< the buffer, or the file handle
  std::uint64_t cbOffset;
  std::uint64_t cbSize;
};
using LPHSE_VECTOR_ELEMENT = HSE_VECTOR_ELEMENT*;

/// HSE_REQ_VECTOR_SEND's lpvBuffer: with HSE_IO_SEND_HEADERS the status and header block
/// (non-null, headers ending in an extra CRLF) go out first, then the elements in order.
struct HSE_RESPONSE_VECTOR {
  DWORD dwFlags;
  LPSTR pszStatus;
  LPSTR pszHeaders;
  DWORD nElementCount;
  LPHSE_VECTOR_ELEMENT lpElementArray;
};
using LPHSE_RESPONSE_VECTOR = HSE_RESPONSE_VECTOR*;

struct HSE_URL_MAPEX_INFO {
  char lpszPath[260];
  DWORD dwFlags;
  DWORD cchMatchingPath;
  DWORD cchMatchingURL;
  DWORD dwReserved1;
  DWORD dwReserved2;
};

using PFN_GETEXTENSIONVERSION = BOOL(WINAPI*)(HSE_VERSION_INFO* pVer);
using PFN_HTTPEXTENSIONPROC = DWORD(WINAPI*)(EXTENSION_CONTROL_BLOCK* pECB);
using PFN_TERMINATEEXTENSION = BOOL(WINAPI*)(DWORD dwFlags);

inline void isapi_set_last_error(DWORD code) {
  errno = static_cast<int>(code);
}
inline DWORD isapi_get_last_error() {
  return static_cast<DWORD>(errno);
}

static_assert(sizeof(DWORD) == 4, "DWORD must be 32-bit as on Windows");
#if defined(__LP64__)
// Same offsets as the Windows x64 SDK layout (shared/reference/isapi.md section 2).
static_assert(sizeof(EXTENSION_CONTROL_BLOCK) == 192, "ECB layout differs from Windows x64");
static_assert(sizeof(HSE_SEND_HEADER_EX_INFO) == 32, "HSE_SEND_HEADER_EX_INFO layout");
static_assert(sizeof(HSE_RESPONSE_VECTOR) == 40, "HSE_RESPONSE_VECTOR layout");
static_assert(sizeof(HSE_VECTOR_ELEMENT) == 32, "HSE_VECTOR_ELEMENT layout");
#endif
static_assert(sizeof(HSE_VERSION_INFO) == 260, "HSE_VERSION_INFO layout");

#endif // POSIX

// Both ABIs: the way the three entry points are exported. x86 Windows decorates
// __stdcall names, so builds add a .def file (MSVC) or --kill-at (mingw) for plain names.
#if defined(_WIN32)
#define ISAPI_EXPORT extern "C" __declspec(dllexport)
#else
#define ISAPI_EXPORT extern "C" __attribute__((visibility("default")))
#endif

#endif // KALLITHEA_ISAPI_ABI_H
