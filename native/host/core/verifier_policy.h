// The verifier's rules in one place: which breaches of the ISAPI contract the host reports,
// and the test for each. The request state machine (request.cc) describes what it knows
// (RequestFacts) at each point where an extension acts and asks this object; it never
// decides a rule itself. Each rule is what would crash an extension, or a client, on IIS;
// each is caught by a case of test/fixtures/verifier_breaker.cc.
#ifndef KALLITHEA_ISAPI_HOST_VERIFIER_POLICY_H
#define KALLITHEA_ISAPI_HOST_VERIFIER_POLICY_H

#include "isapi/abi.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace isapi_host {

enum class Rule {
  ecb_after_done,           ///< any ECB call after DONE_WITH_SESSION
  done_twice,               ///< DONE_WITH_SESSION a second time
  done_never,               ///< PENDING, then no ECB activity for doneTimeoutMs
  done_then_status,         ///< DONE inside HttpExtensionProc, which then returns non-PENDING
  done_with_io_pending,     ///< DONE with an asynchronous operation in flight
  done_during_io,           ///< DONE while another thread is blocked in ReadClient/WriteClient
  two_async_io,             ///< a second asynchronous operation while one is in flight
  sync_io_during_async,     ///< synchronous ReadClient/WriteClient while an async op is in flight
  async_without_completion, ///< asynchronous I/O without an HSE_REQ_IO_COMPLETION routine
  async_buffer_reused,      ///< an async WriteClient buffer changed before its completion
  write_before_headers,     ///< WriteClient before any header, without a head of its own
  bad_response_head,        ///< a status or header block Node (and a client) cannot take
  bad_response_vector,      ///< a malformed HSE_REQ_VECTOR_SEND (check_response_vector)
  broken_chunking,          ///< the extension's own chunked framing is broken
  content_length_mismatch,  ///< body bytes written differ from the declared Content-Length
};

const char* rule_name(Rule rule);

struct Breach {
  Rule rule;
  std::string message;
};

/// What the request state machine knows when an extension acts.
struct RequestFacts {
  bool done = false;             ///< DONE_WITH_SESSION (or a non-PENDING return) happened
  bool given_up = false;         ///< the watchdog ended it: later calls are not breaches
  bool in_extension_proc = true; ///< HttpExtensionProc has not returned yet
  bool has_completion = false;   ///< an HSE_REQ_IO_COMPLETION routine is set
  bool async_in_flight = false;  ///< an asynchronous read or write is pending
  unsigned sync_waiters = 0;     ///< threads blocked in synchronous ReadClient/WriteClient
};

class VerifierPolicy {
public:
  explicit VerifierPolicy(bool verify) : verify_(verify) {}

  bool verify() const { return verify_; }

  /// Any ECB call (`call` names it).
  std::optional<Breach> on_call(const RequestFacts& facts, const char* call) const;
  /// HSE_REQ_DONE_WITH_SESSION.
  std::optional<Breach> on_done(const RequestFacts& facts) const;
  /// HttpExtensionProc returned `status`; `done_before` when DONE was already called.
  std::optional<Breach> on_proc_return(DWORD status, bool done_before) const;
  /// WriteClient(HSE_IO_ASYNC) or HSE_REQ_ASYNC_READ_CLIENT.
  std::optional<Breach> on_async_io(const RequestFacts& facts, const char* call) const;
  /// Synchronous ReadClient or WriteClient.
  std::optional<Breach> on_sync_io(const RequestFacts& facts, const char* call) const;
  /// WriteClient before any header call; `own_head` when the bytes start "HTTP/".
  std::optional<Breach> on_write_before_headers(bool own_head) const;
  /// A response head check_response_head() refused (reported in both modes: the host
  /// cannot send it).
  std::optional<Breach> on_bad_head(const std::string& problem) const;
  /// An HSE_REQ_VECTOR_SEND check_response_vector() refused (the call fails in both modes).
  std::optional<Breach> on_bad_vector(const std::string& problem) const;
  /// The chunk parser refused the extension's framing.
  std::optional<Breach> on_broken_chunking(const std::string& problem) const;
  /// Body bytes so far against a declared Content-Length; `ended` at the session's end.
  std::optional<Breach> on_body(std::uint64_t written, std::uint64_t declared, bool ended) const;
  /// An async write's buffer checksum at submit and just before its completion.
  std::optional<Breach> on_write_completion(std::uint64_t at_submit,
                                            std::uint64_t at_completion) const;
  /// A PENDING request without DONE, idle for `idle` (no ECB call, no completion).
  std::optional<Breach> on_idle(std::chrono::milliseconds idle,
                                std::chrono::milliseconds limit) const;

  /// The checksum on_write_completion compares (FNV-1a, 64 bit).
  static std::uint64_t checksum(const void* data, std::size_t size);

private:
  std::optional<Breach> breach(Rule rule, std::string message) const;

  const bool verify_;
};

} // namespace isapi_host

#endif
