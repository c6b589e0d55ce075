// The bridge pipe's security descriptor (Windows). libuv, inside node.exe, creates the pipe
// with the default descriptor and without PIPE_REJECT_REMOTE_CLIENTS; the DLL replaces the
// DACL right after it has checked who serves the pipe. A named pipe has one descriptor for
// all its instances, so setting it through the DLL's client handle covers every instance
// libuv has made and will make. See README "Security: the bridge pipe" for the threat model.
#pragma once

#if defined(_WIN32)

#include <windows.h>

#include <string>

namespace kallithea_isapi {

/// What a pipe client handle needs, besides reading and writing, to read and replace the
/// pipe's DACL. The pipe's owner (the identity that started node.exe: this process's) has it.
constexpr DWORD pipe_dacl_access = READ_CONTROL | WRITE_DAC;

/// The DACL the bridge pipe gets, as SDDL: protected (nothing inherited), network logons
/// (S-1-5-2, which every client coming over SMB carries) denied, full access for this
/// process's user and SYSTEM only. Empty with `error` set when the user is unknown.
std::string worker_pipe_dacl(std::string& error);

/// Replaces the DACL of the pipe behind `pipe` (opened with pipe_dacl_access) with
/// worker_pipe_dacl(). On success `read_back` is the DACL as the pipe now reports it;
/// otherwise false with `error` naming the call and the Windows error.
bool restrict_pipe(HANDLE pipe, std::string& read_back, std::string& error);

/// Owner and DACL of the object behind `handle` (opened with READ_CONTROL) as SDDL;
/// empty with `error` set when they cannot be read.
std::string security_sddl(HANDLE handle, std::string& error);

/// Connect mode: what the DACL of a pipe someone else created admits, as one sentence for
/// the log ("admits only ..." or what more it admits, and whether network clients are denied).
std::string describe_pipe_access(HANDLE pipe);

} // namespace kallithea_isapi

#endif
