#include "event_sink.h"

namespace isapi_host {

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

// JS thread: the function is gone (released, or the environment is being torn down).
void ThreadSafeSink::finalize(Napi::Env, std::shared_ptr<ThreadSafeSink>* self, ThreadSafeSink*) {
  {
    std::lock_guard<std::mutex> lock((*self)->mutex_);
    (*self)->open_ = false;
  }
  delete self;
}

// Any thread. Never blocks: the queue is unbounded, and each request has at most one
// write event outstanding, so it stays small.
bool ThreadSafeSink::post(HostEvent&& event) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!open_)
    return false;
  auto* item = new HostEvent(std::move(event));
  if (function_.NonBlockingCall(item) != napi_ok) {
    delete item;
    return false;
  }
  return true;
}

// JS thread.
void ThreadSafeSink::close() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!open_)
    return;
  open_ = false;
  function_.Release();
}

// JS thread: one event becomes one call of onEvent.
void call_js_event(Napi::Env env, Napi::Function on_event, ThreadSafeSink*, HostEvent* event) {
  std::unique_ptr<HostEvent> owned(event);
  if (env == nullptr || on_event == nullptr)
    return; // torn down: drop it
  Napi::Value data = env.Undefined();
  if (!owned->data.empty() || owned->kind == HostEvent::Kind::write ||
      owned->kind == HostEvent::Kind::headers) {
    data = Napi::Buffer<std::uint8_t>::Copy(env, owned->data.data(), owned->data.size());
  }
  try {
    on_event.Call({Napi::Number::New(env, static_cast<int>(owned->kind)),
                   Napi::Number::New(env, static_cast<double>(owned->request_id)),
                   Napi::String::New(env, owned->text), data, Napi::Boolean::New(env, owned->flag),
                   Napi::Number::New(env, owned->number), Napi::String::New(env, owned->text2)});
  } catch (const Napi::Error& error) {
    // An exception in the JS handler must not vanish: rethrow as uncaught.
    error.ThrowAsJavaScriptException();
  }
}

} // namespace isapi_host
