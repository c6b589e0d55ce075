// The EventSink the core posts to, backed by a TypedThreadSafeFunction that calls the
// JavaScript `onEvent(kind, id, text, data, flag, number, text2)`. Events are batched: a
// post that finds the queue empty wakes the JavaScript thread once, and that one call
// delivers every event queued by then, in order.
#ifndef KALLITHEA_ISAPI_HOST_ADDON_EVENT_SINK_H
#define KALLITHEA_ISAPI_HOST_ADDON_EVENT_SINK_H

#include "../core/events.h"

#include <napi.h>

#include <memory>
#include <mutex>
#include <vector>

namespace isapi_host {

class ThreadSafeSink;
void call_js_event(Napi::Env env, Napi::Function on_event, ThreadSafeSink* sink, HostEvent* unused);

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
  friend void call_js_event(Napi::Env, Napi::Function, ThreadSafeSink*, HostEvent*);
  static void finalize(Napi::Env env, std::shared_ptr<ThreadSafeSink>* self, ThreadSafeSink*);

  /// JS thread: the events queued so far (the next post wakes JS again).
  std::vector<HostEvent> take();
  /// JS thread: events a throwing handler left undelivered go first, in a later call.
  void put_back(std::vector<HostEvent>&& rest);

  std::mutex mutex_;
  bool open_ = false;
  Function function_;
  std::vector<HostEvent> pending_; ///< non-empty: one call is on its way to JS
};

} // namespace isapi_host

#endif
