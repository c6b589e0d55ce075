#include "event_sink.h"

#include <cstdio>

namespace isapi_host {

namespace {
// Bytes at or above this size reach JS without a copy (the Buffer owns the event's vector).
constexpr std::size_t external_at = 16 * 1024;

using Bytes = std::vector<std::uint8_t>;

Napi::Value data_of(Napi::Env env, HostEvent& event) {
  if (event.data.size() >= external_at) {
    auto* owned = new Bytes(std::move(event.data));
    return Napi::Buffer<std::uint8_t>::NewOrCopy(
        env, owned->data(), owned->size(), [](Napi::Env, std::uint8_t*, Bytes* v) { delete v; },
        owned);
  }
  return Napi::Buffer<std::uint8_t>::Copy(env, event.data.data(), event.data.size());
}
// One JavaScript character per byte: header text is bytes as the extension wrote them,
// which need not be UTF-8.
Napi::Value latin1_string(Napi::Env env, const std::string& text) {
  napi_value value = nullptr;
  NAPI_THROW_IF_FAILED(env, napi_create_string_latin1(env, text.data(), text.size(), &value),
                       Napi::Value());
  return Napi::Value(env, value);
}
} // namespace

// JS thread. The Buffer's memory goes back now, not at the garbage collection that finds
// the Buffer unreachable: V8 is not told about an external Buffer's size, so during a big
// download those collections come late and the host's RSS grew by tens of MiB. Detaching
// drops the ArrayBuffer's hold on its memory, and Node then runs the finalizer (which
// frees the event's vector) on its next turn; the Buffer reads as empty from here on.
Napi::Value release_buffer(const Napi::CallbackInfo& info) {
  if (info.Length() > 0 && info[0].IsTypedArray()) {
    Napi::ArrayBuffer memory = info[0].As<Napi::TypedArray>().ArrayBuffer();
    if (!memory.IsDetached())
      memory.Detach();
  }
  return info.Env().Undefined();
}

std::shared_ptr<ThreadSafeSink> ThreadSafeSink::create(Napi::Env env, Napi::Function on_event) {
  auto sink = std::make_shared<ThreadSafeSink>();
  // The finalizer owns one reference, so the sink outlives the function whatever order
  // Node tears things down in.
  auto* keep = new std::shared_ptr<ThreadSafeSink>(sink);
  sink->function_ = Function::New(env, on_event, "isapi-host events", 0, 1, sink.get(),
                                  &ThreadSafeSink::finalize, keep);
  sink->function_.Unref(env);
  sink->open_ = true;
  return sink;
}

// JS thread.
void ThreadSafeSink::hold(Napi::Env env) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (open_ && holds_++ == 0)
    function_.Ref(env);
}

// JS thread.
void ThreadSafeSink::let_go(Napi::Env env) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (holds_ == 0)
    return;
  if (--holds_ == 0 && open_)
    function_.Unref(env);
}

// JS thread: the function is gone (released, or the environment is being torn down).
void ThreadSafeSink::finalize(Napi::Env, std::shared_ptr<ThreadSafeSink>* self, ThreadSafeSink*) {
  {
    std::lock_guard<std::mutex> lock((*self)->mutex_);
    (*self)->open_ = false;
    (*self)->pending_.clear();
  }
  delete self;
}

// Any thread. Never blocks: the queue is unbounded, and each request has at most one
// write event waiting for JS beyond its send buffer, so it stays small.
bool ThreadSafeSink::post(HostEvent&& event) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!open_)
    return false;
  const bool wake = pending_.empty();
  pending_.push_back(std::move(event));
  if (wake && function_.NonBlockingCall(nullptr) != napi_ok) {
    pending_.pop_back();
    return false;
  }
  return true;
}

std::vector<HostEvent> ThreadSafeSink::take() {
  std::vector<HostEvent> batch;
  std::lock_guard<std::mutex> lock(mutex_);
  batch.swap(pending_);
  return batch;
}

// JS thread.
void ThreadSafeSink::close() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!open_)
    return;
  open_ = false;
  pending_.clear();
  holds_ = 0;
  function_.Release();
}

// JS thread: every queued event becomes one call of onEvent, in order.
void call_js_event(Napi::Env env, Napi::Function on_event, ThreadSafeSink* sink, HostEvent*) {
  if (env == nullptr || on_event == nullptr || sink == nullptr)
    return; // torn down: drop them
  std::vector<HostEvent> batch = sink->take();
  for (HostEvent& event : batch) {
    try {
      Napi::Value data = env.Undefined();
      if (!event.data.empty() || event.kind == HostEvent::Kind::write ||
          event.kind == HostEvent::Kind::headers) {
        data = data_of(env, event);
      }
      const bool head = event.kind == HostEvent::Kind::headers;
      on_event.Call({Napi::Number::New(env, static_cast<int>(event.kind)),
                     Napi::Number::New(env, static_cast<double>(event.request_id)),
                     head ? latin1_string(env, event.text) : Napi::String::New(env, event.text),
                     data, Napi::Boolean::New(env, event.flag),
                     Napi::Number::New(env, event.number),
                     head ? latin1_string(env, event.text2) : Napi::String::New(env, event.text2)});
    } catch (const std::exception& error) {
      // lib/host catches everything its handler throws, so this is JS that can no longer
      // run (environment teardown) or a bug there. Rethrowing out of this C callback
      // would abort the process; the event is reported and dropped instead.
      std::fprintf(stderr, "isapi-host: event %d of request %llu not delivered: %s\n",
                   static_cast<int>(event.kind), static_cast<unsigned long long>(event.request_id),
                   error.what());
    }
    if (event.kind == HostEvent::Kind::finished || event.kind == HostEvent::Kind::closed)
      sink->let_go(env);
  }
}

} // namespace isapi_host
