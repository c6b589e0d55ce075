// The EventSink the core posts to, backed by a TypedThreadSafeFunction that calls the
// JavaScript `onEvent(kind, id, text, data, flag, number, text2)`.
#ifndef KALLITHEA_ISAPI_HOST_ADDON_EVENT_SINK_H
#define KALLITHEA_ISAPI_HOST_ADDON_EVENT_SINK_H

#include "../core/events.h"

#include <napi.h>

#include <memory>
#include <mutex>

namespace isapi_host {

class ThreadSafeSink;
void call_js_event(Napi::Env env, Napi::Function on_event, ThreadSafeSink* sink, HostEvent* event);

class ThreadSafeSink : public EventSink {
public:
  using Function = Napi::TypedThreadSafeFunction<ThreadSafeSink, HostEvent, call_js_event>;

  /// JS thread. The function does not keep the event loop alive (the HTTP server does).
  static std::shared_ptr<ThreadSafeSink> create(Napi::Env env, Napi::Function on_event);

  /// Any thread.
  bool post(HostEvent&& event) override;

  /// JS thread: no more events; releases the thread-safe function (once).
  void close();

private:
  static void finalize(Napi::Env env, std::shared_ptr<ThreadSafeSink>* self, ThreadSafeSink*);

  std::mutex mutex_;
  bool open_ = false;
  Function function_;
};

} // namespace isapi_host

#endif
