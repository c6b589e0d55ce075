#include "platform/pipe_security.hpp"

#if defined(_WIN32)

#include "platform/files.hpp"

#include <aclapi.h>
#include <sddl.h>

#include <memory>
#include <vector>

namespace kallithea_isapi {

namespace {

std::string failed(const std::string& what, DWORD code) {
  return what + " failed (Windows error " + std::to_string(code) + ")";
}

struct local_free {
  void operator()(void* p) const { LocalFree(p); }
};
template <class T> using local_ptr = std::unique_ptr<T, local_free>;

std::string sid_text(PSID sid) {
  wchar_t* text = nullptr;
  if (!ConvertSidToStringSidW(sid, &text))
    return "<unreadable SID>";
  local_ptr<wchar_t> owned(text);
  return narrow(text);
}

/// This process's user (the primary token's, which node.exe inherited): not a thread's
/// impersonation token, since the DLL's own threads never impersonate.
std::string process_user_sid(std::string& error) {
  HANDLE token = nullptr;
  if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token)) {
    error = failed("OpenProcessToken", GetLastError());
    return {};
  }
  DWORD size = 0;
  GetTokenInformation(token, TokenUser, nullptr, 0, &size);
  std::vector<unsigned char> buf(size ? size : 1);
  bool ok = GetTokenInformation(token, TokenUser, buf.data(), size, &size) != FALSE;
  DWORD code = GetLastError();
  CloseHandle(token);
  if (!ok) {
    error = failed("GetTokenInformation(TokenUser)", code);
    return {};
  }
  return sid_text(reinterpret_cast<TOKEN_USER*>(buf.data())->User.Sid);
}

bool sid_is(PSID sid, const char* text) {
  PSID other = nullptr;
  if (!ConvertStringSidToSidW(widen(text).c_str(), &other))
    return false;
  local_ptr<void> owned(other);
  return EqualSid(sid, other) != FALSE;
}

constexpr const char* network_sid = "S-1-5-2";

} // namespace

std::string worker_pipe_dacl(std::string& error) {
  std::string user = process_user_sid(error);
  if (user.empty())
    return {};
  // Deny first (canonical order). FA is FILE_ALL_ACCESS, FILE_CREATE_PIPE_INSTANCE included:
  // the bridge (same user) goes on creating instances under this DACL.
  return "D:P(D;;FA;;;NU)(A;;FA;;;SY)(A;;FA;;;" + user + ")";
}

bool restrict_pipe(HANDLE pipe, std::string& read_back, std::string& error) {
  std::string sddl = worker_pipe_dacl(error);
  if (sddl.empty())
    return false;
  PSECURITY_DESCRIPTOR sd = nullptr;
  if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(widen(sddl).c_str(), SDDL_REVISION_1,
                                                            &sd, nullptr)) {
    error =
        failed("ConvertStringSecurityDescriptorToSecurityDescriptor(" + sddl + ")", GetLastError());
    return false;
  }
  local_ptr<void> owned(sd);
  // The whole descriptor, whose control carries SE_DACL_PROTECTED, through
  // SetKernelObjectSecurity (SetSecurityInfo's PROTECTED_DACL_SECURITY_INFORMATION is
  // dropped by Wine, which would leave the test reading back an unprotected DACL).
  if (!SetKernelObjectSecurity(
          pipe, DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION, sd)) {
    error = failed("SetKernelObjectSecurity(" + sddl + ")", GetLastError());
    return false;
  }
  std::string unread;
  read_back = security_sddl(pipe, unread);
  if (read_back.empty())
    read_back = sddl + " (set; reading it back: " + unread + ")";
  return true;
}

std::string security_sddl(HANDLE handle, std::string& error) {
  PSECURITY_DESCRIPTOR sd = nullptr;
  const SECURITY_INFORMATION what = OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION;
  DWORD code =
      GetSecurityInfo(handle, SE_KERNEL_OBJECT, what, nullptr, nullptr, nullptr, nullptr, &sd);
  if (code != ERROR_SUCCESS) {
    error = failed("GetSecurityInfo", code);
    return {};
  }
  local_ptr<void> owned(sd);
  wchar_t* text = nullptr;
  if (!ConvertSecurityDescriptorToStringSecurityDescriptorW(sd, SDDL_REVISION_1, what, &text,
                                                            nullptr)) {
    error = failed("ConvertSecurityDescriptorToStringSecurityDescriptor", GetLastError());
    return {};
  }
  local_ptr<wchar_t> owned_text(text);
  return narrow(text);
}

std::string describe_pipe_access(HANDLE pipe) {
  PSECURITY_DESCRIPTOR sd = nullptr;
  PSID owner = nullptr;
  PACL dacl = nullptr;
  DWORD code = GetSecurityInfo(pipe, SE_KERNEL_OBJECT,
                               OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION, &owner,
                               nullptr, &dacl, nullptr, &sd);
  if (code != ERROR_SUCCESS)
    return "its DACL cannot be read (" + failed("GetSecurityInfo", code) +
           "): who else may connect is unknown";
  local_ptr<void> owned(sd);
  if (!dacl)
    return "it has no DACL: anyone, also over the network, may connect";
  std::string ignored;
  const std::string user = process_user_sid(ignored);
  bool network_denied = false;
  std::string others;
  for (DWORD i = 0; i < dacl->AceCount; ++i) {
    ACE_HEADER* ace = nullptr;
    if (!GetAce(dacl, i, reinterpret_cast<void**>(&ace)))
      continue;
    if (ace->AceType == ACCESS_DENIED_ACE_TYPE) {
      auto* denied = reinterpret_cast<ACCESS_DENIED_ACE*>(ace);
      if (sid_is(&denied->SidStart, network_sid) && (denied->Mask & FILE_GENERIC_WRITE))
        network_denied = true;
      continue;
    }
    if (ace->AceType != ACCESS_ALLOWED_ACE_TYPE)
      continue;
    auto* allowed = reinterpret_cast<ACCESS_ALLOWED_ACE*>(ace);
    PSID sid = &allowed->SidStart;
    std::string text = sid_text(sid);
    // The worker, SYSTEM, Administrators and the pipe's owner (who runs the bridge) are
    // expected; anyone else is worth a word.
    if (text == user || text == "S-1-5-18" || text == "S-1-5-32-544" ||
        (owner && EqualSid(sid, owner)))
      continue;
    bool writes = (allowed->Mask & (FILE_WRITE_DATA | GENERIC_WRITE | GENERIC_ALL)) != 0;
    others += (others.empty() ? "" : ", ") + text + (writes ? " (read and write)" : " (read)");
  }
  std::string admits =
      others.empty() ? "its DACL admits only this worker, SYSTEM, Administrators and its owner"
                     : "its DACL also admits " + others;
  return admits + (network_denied ? "; network clients are denied"
                                  : "; network clients are not denied (the pipe may be reachable "
                                    "over SMB)");
}

} // namespace kallithea_isapi

#endif
