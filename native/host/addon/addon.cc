// The isapi_host addon: exports only. Everything else lives in host_object (the JS class)
// and ../core (no N-API).
#include "host_object.h"

#include "../core/connections.h"

#include <napi.h>

namespace {

Napi::Object init(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeIsapiHost", isapi_host::HostObject::define(env));
  // lib/host/binding.ts checks this before using the addon.
  exports.Set("abiVersion", Napi::Number::New(env, 4));
  // The AddressSanitizer build also poisons retired ECBs' fields (test/native/retired-ecb).
  exports.Set("retiredEcbsPoisoned", Napi::Boolean::New(env, isapi_host::buried_fields_poisoned()));
  return exports;
}

} // namespace

NODE_API_MODULE(isapi_host, init)
