// NativeIsapiHost, the one JS class of the addon: a thin ObjectWrap over core Host.
// Every method runs on the JS thread. lib/host/isapi-host.ts validates the options and
// is the only caller.
#ifndef KALLITHEA_ISAPI_HOST_ADDON_HOST_OBJECT_H
#define KALLITHEA_ISAPI_HOST_ADDON_HOST_OBJECT_H

#include "../core/host.h"
#include "event_sink.h"

#include <napi.h>

#include <memory>
#include <string>

namespace isapi_host {

class HostObject : public Napi::ObjectWrap<HostObject> {
public:
  static Napi::Function define(Napi::Env env);

  /// new NativeIsapiHost(options, onEvent): loads the extension, or throws.
  explicit HostObject(const Napi::CallbackInfo& info);
  ~HostObject() override;

private:
  Napi::Value JS_begin(const Napi::CallbackInfo& info);
  Napi::Value JS_pushBody(const Napi::CallbackInfo& info);
  Napi::Value JS_endBody(const Napi::CallbackInfo& info);
  Napi::Value JS_writeDone(const Napi::CallbackInfo& info);
  Napi::Value JS_releaseBuffer(const Napi::CallbackInfo& info);
  Napi::Value JS_clientGone(const Napi::CallbackInfo& info);
  Napi::Value JS_wakeDispatches(const Napi::CallbackInfo& info);
  Napi::Value JS_releaseMemory(const Napi::CallbackInfo& info);
  Napi::Value JS_close(const Napi::CallbackInfo& info);
  Napi::Value JS_releaseEvents(const Napi::CallbackInfo& info);
  Napi::Value JS_liveRequests(const Napi::CallbackInfo& info);
  Napi::Value JS_poolThreads(const Napi::CallbackInfo& info);
  Napi::Value JS_insideVirtualDir(const Napi::CallbackInfo& info);
  Napi::Value JS_extension(const Napi::CallbackInfo& info);

  std::shared_ptr<Request> request_arg(const Napi::CallbackInfo& info);
  static void at_exit(HostObject* self);
  void shut_down();

  std::shared_ptr<ThreadSafeSink> sink_;
  std::shared_ptr<Host> host_;
  std::string virtual_dir_;
  Napi::Env::CleanupHook<void (*)(HostObject*), HostObject> cleanup_;
};

} // namespace isapi_host

#endif
