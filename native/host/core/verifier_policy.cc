#include "verifier_policy.h"

namespace isapi_host {

const char* rule_name(Rule rule) {
  switch (rule) {
  case Rule::ecb_after_done:
    return "ecb_after_done";
  case Rule::done_twice:
    return "done_twice";
  case Rule::done_never:
    return "done_never";
  case Rule::done_then_status:
    return "done_then_status";
  case Rule::done_with_io_pending:
    return "done_with_io_pending";
  case Rule::done_during_io:
    return "done_during_io";
  case Rule::two_async_io:
    return "two_async_io";
  case Rule::sync_io_during_async:
    return "sync_io_during_async";
  case Rule::async_without_completion:
    return "async_without_completion";
  case Rule::async_buffer_reused:
    return "async_buffer_reused";
  case Rule::write_before_headers:
    return "write_before_headers";
  case Rule::bad_response_head:
    return "bad_response_head";
  case Rule::bad_response_vector:
    return "bad_response_vector";
  case Rule::broken_chunking:
    return "broken_chunking";
  case Rule::content_length_mismatch:
    return "content_length_mismatch";
  }
  return "unknown";
}

std::optional<Breach> VerifierPolicy::breach(Rule rule, std::string message) const {
  if (!verify_ && rule != Rule::bad_response_head)
    return std::nullopt;
  return Breach{rule, std::move(message)};
}

std::optional<Breach> VerifierPolicy::on_call(const RequestFacts& facts, const char* call) const {
  if (!facts.done || facts.given_up)
    return std::nullopt;
  return breach(Rule::ecb_after_done, std::string(call) + " after DONE_WITH_SESSION");
}

std::optional<Breach> VerifierPolicy::on_done(const RequestFacts& facts) const {
  if (facts.given_up)
    return std::nullopt;
  if (facts.done)
    return breach(Rule::done_twice, "HSE_REQ_DONE_WITH_SESSION called twice");
  // On IIS the outstanding operation completes later, against an ECB that is gone.
  if (facts.async_in_flight)
    return breach(Rule::done_with_io_pending,
                  "HSE_REQ_DONE_WITH_SESSION with an asynchronous operation in flight");
  if (facts.sync_waiters > 0)
    return breach(Rule::done_during_io, "HSE_REQ_DONE_WITH_SESSION while another thread is "
                                        "blocked in ReadClient or WriteClient");
  return std::nullopt;
}

std::optional<Breach> VerifierPolicy::on_proc_return(DWORD status, bool done_before) const {
  if (!done_before || status == HSE_STATUS_PENDING)
    return std::nullopt;
  return breach(Rule::done_then_status,
                "HSE_REQ_DONE_WITH_SESSION inside HttpExtensionProc, which then returned " +
                    std::to_string(status) + " instead of HSE_STATUS_PENDING");
}

std::optional<Breach> VerifierPolicy::on_async_io(const RequestFacts& facts,
                                                  const char* call) const {
  if (!facts.has_completion)
    return breach(Rule::async_without_completion,
                  std::string(call) + " without an HSE_REQ_IO_COMPLETION routine");
  if (facts.async_in_flight)
    return breach(Rule::two_async_io,
                  std::string(call) + " while another asynchronous operation is in flight");
  return std::nullopt;
}

std::optional<Breach> VerifierPolicy::on_sync_io(const RequestFacts& facts,
                                                 const char* call) const {
  if (!facts.async_in_flight)
    return std::nullopt;
  return breach(Rule::sync_io_during_async,
                std::string(call) + " while an asynchronous operation is in flight");
}

std::optional<Breach> VerifierPolicy::on_write_before_headers(bool own_head) const {
  if (own_head)
    return std::nullopt; // IIS sends a head of the extension's own as it is
  return breach(Rule::write_before_headers,
                "WriteClient before any response header was sent, without a header block");
}

std::optional<Breach> VerifierPolicy::on_bad_head(const std::string& problem) const {
  return breach(Rule::bad_response_head, problem);
}

std::optional<Breach> VerifierPolicy::on_bad_vector(const std::string& problem) const {
  return breach(Rule::bad_response_vector, problem);
}

std::optional<Breach> VerifierPolicy::on_broken_chunking(const std::string& problem) const {
  return breach(Rule::broken_chunking, "the extension's chunked response: " + problem);
}

std::optional<Breach> VerifierPolicy::on_body(std::uint64_t written, std::uint64_t declared,
                                              bool ended) const {
  if (written > declared)
    return breach(Rule::content_length_mismatch, "wrote " + std::to_string(written) +
                                                     " body bytes, Content-Length " +
                                                     std::to_string(declared));
  if (ended && written < declared)
    return breach(Rule::content_length_mismatch,
                  "the session ended after " + std::to_string(written) +
                      " body bytes, Content-Length " + std::to_string(declared));
  return std::nullopt;
}

std::optional<Breach> VerifierPolicy::on_write_completion(std::uint64_t at_submit,
                                                          std::uint64_t at_completion) const {
  if (at_submit == at_completion)
    return std::nullopt;
  // IIS reads the buffer while the write is in flight; the host copied it at submit.
  return breach(Rule::async_buffer_reused,
                "the buffer of WriteClient(HSE_IO_ASYNC) changed before its completion");
}

std::optional<Breach> VerifierPolicy::on_idle(std::chrono::milliseconds idle,
                                              std::chrono::milliseconds limit) const {
  if (idle < limit)
    return std::nullopt;
  return breach(Rule::done_never, "HSE_STATUS_PENDING without DONE_WITH_SESSION and no activity "
                                  "for " +
                                      std::to_string(limit.count()) + " ms");
}

std::uint64_t VerifierPolicy::checksum(const void* data, std::size_t size) {
  std::uint64_t hash = 14695981039346656037ull;
  const auto* bytes = static_cast<const std::uint8_t*>(data);
  for (std::size_t i = 0; i < size; ++i) {
    hash ^= bytes[i];
    hash *= 1099511628211ull;
  }
  return hash;
}

} // namespace isapi_host
