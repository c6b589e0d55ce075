// The EventSink the core posts to, backed by a TypedThreadSafeFunction that calls the
// JavaScript `onEvent(kind, id, text, data, flag, number, text2)`. Events are batched: a
// post that finds the queue empty wakes the JavaScript thread once, and that one call
// delivers every event queued by then, in order.
//
// The function keeps the event loop alive exactly while something is owed to JavaScript:
// a request that has not had its `finished` event, or a close that has not had its
// `closed` event. Otherwise `await host.close()` could find the loop empty and never return.
#ifndef KALLITHEA_ISAPI_HOST_ADDON_EVENT_SINK_H
#define KALLITHEA_ISAPI_HOST_ADDON_EVENT_SINK_H

#include "../core/events.h"

#include <napi.h>

#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

namespace isapi_host {

/// JS thread. releaseBuffer(buffer): frees a write event's Buffer once the socket is done
/// with it (its memory is detached; the Buffer is empty afterwards).
Napi::Value release_buffer(const Napi::CallbackInfo& info);

class ThreadSafeSink;
void call_js_event(Napi::Env env, Napi::Function on_event, ThreadSafeSink* sink, HostEvent* unused);

class ThreadSafeSink : public EventSink {
public:
  using Function = Napi::TypedThreadSafeFunction<ThreadSafeSink, HostEvent, call_js_event>;

  /// JS thread. Unreferenced until the first hold().
  static std::shared_ptr<ThreadSafeSink> create(Napi::Env env, Napi::Function on_event);

  /// Any thread.
  bool post(HostEvent&& event) override;

  /// JS thread: one more thing owed to JS (a begun request, a close); references the
  /// function while any is outstanding.
  void hold(Napi::Env env);
  /// JS thread: one of them was delivered.
  void let_go(Napi::Env env);

  /// JS thread: no more events; releases the thread-safe function (once).
  void close();

private:
  friend void call_js_event(Napi::Env, Napi::Function, ThreadSafeSink*, HostEvent*);
  static void finalize(Napi::Env env, std::shared_ptr<ThreadSafeSink>* self, ThreadSafeSink*);

  /// JS thread: the events queued so far (the next post wakes JS again).
  std::vector<HostEvent> take();

  std::mutex mutex_;
  bool open_ = false;
  Function function_;
  std::vector<HostEvent> pending_; ///< non-empty: one call is on its way to JS
  std::size_t holds_ = 0;          ///< JS thread only
};

} // namespace isapi_host

#endif
