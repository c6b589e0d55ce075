#include "host_object.h"

#include "../core/request.h"
#include "../core/text_encoding.h"

// The addon's one V8 call (JS_releaseMemory): N-API cannot ask for a memory-reducing
// collection, and one that shrinks the young generation is what gives the memory back.
// Built against node-api-headers alone (the Windows cross-build, which has no V8 headers)
// the call is left out and only the C heap is trimmed.
#if __has_include(<v8.h>)
#include <v8.h>
#define ISAPI_HOST_HAS_V8 1
#endif

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <stdexcept>
#include <utility>
#include <vector>

namespace isapi_host {

namespace {

std::string string_option(const Napi::Object& options, const char* key) {
  Napi::Value value = options.Get(key);
  if (!value.IsString()) {
    throw Napi::TypeError::New(options.Env(), std::string("option ") + key + " must be a string");
  }
  return value.As<Napi::String>().Utf8Value();
}

double number_option(const Napi::Object& options, const char* key) {
  Napi::Value value = options.Get(key);
  if (!value.IsNumber()) {
    throw Napi::TypeError::New(options.Env(), std::string("option ") + key + " must be a number");
  }
  return value.As<Napi::Number>().DoubleValue();
}

std::string string_field(const Napi::Object& object, const char* key) {
  Napi::Value value = object.Get(key);
  return value.IsString() ? value.As<Napi::String>().Utf8Value() : std::string();
}

double number_field(const Napi::Object& object, const char* key) {
  Napi::Value value = object.Get(key);
  return value.IsNumber() ? value.As<Napi::Number>().DoubleValue() : 0;
}

bool bool_field(const Napi::Object& object, const char* key) {
  Napi::Value value = object.Get(key);
  return value.IsBoolean() && value.As<Napi::Boolean>().Value();
}

// begin()'s flags argument (lib/host/binding.ts BeginFlag).
constexpr std::uint32_t begin_keep_alive = 1;
constexpr std::uint32_t begin_length_known = 2;

// The request-target and the header block travel as Latin-1 strings, one character per
// byte as sent, so every byte survives; V8 copies them out in one call each.
std::string latin1(const Napi::Value& value) {
  napi_env env = value.Env();
  std::size_t length = 0;
  if (napi_get_value_string_latin1(env, value, nullptr, 0, &length) != napi_ok)
    throw Napi::TypeError::New(value.Env(), "a string was expected");
  std::string out(length, '\0');
  napi_get_value_string_latin1(env, value, out.data(), length + 1, &length);
  return out;
}

// "name\nvalue\nname\nvalue": Node's request.rawHeaders joined with LF, which Node's
// (strict) parser never leaves in a header name or value.
std::vector<std::pair<std::string, std::string>> header_pairs(const std::string& block) {
  std::vector<std::pair<std::string, std::string>> pairs;
  std::size_t start = 0;
  while (!block.empty() && start <= block.size()) {
    const std::size_t name_end = block.find('\n', start);
    if (name_end == std::string::npos)
      break; // a name without a value: not from rawHeaders
    std::size_t value_end = block.find('\n', name_end + 1);
    if (value_end == std::string::npos)
      value_end = block.size();
    pairs.emplace_back(block.substr(start, name_end - start),
                       block.substr(name_end + 1, value_end - name_end - 1));
    start = value_end + 1;
  }
  return pairs;
}

} // namespace

Napi::Function HostObject::define(Napi::Env env) {
  return DefineClass(env, "NativeIsapiHost",
                     {InstanceMethod<&HostObject::JS_begin>("begin"),
                      InstanceMethod<&HostObject::JS_pushBody>("pushBody"),
                      InstanceMethod<&HostObject::JS_endBody>("endBody"),
                      InstanceMethod<&HostObject::JS_writeDone>("writeDone"),
                      InstanceMethod<&HostObject::JS_releaseBuffer>("releaseBuffer"),
                      InstanceMethod<&HostObject::JS_clientGone>("clientGone"),
                      InstanceMethod<&HostObject::JS_wakeDispatches>("wakeDispatches"),
                      InstanceMethod<&HostObject::JS_releaseMemory>("releaseMemory"),
                      InstanceMethod<&HostObject::JS_close>("close"),
                      InstanceMethod<&HostObject::JS_releaseEvents>("releaseEvents"),
                      InstanceMethod<&HostObject::JS_liveRequests>("liveRequests"),
                      InstanceMethod<&HostObject::JS_poolThreads>("poolThreads"),
                      InstanceMethod<&HostObject::JS_insideVirtualDir>("insideVirtualDir"),
                      InstanceMethod<&HostObject::JS_extension>("extension")});
}

// JS thread.
HostObject::HostObject(const Napi::CallbackInfo& info) : Napi::ObjectWrap<HostObject>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsFunction()) {
    throw Napi::TypeError::New(env, "new NativeIsapiHost(options, onEvent)");
  }
  Napi::Object options = info[0].As<Napi::Object>();
  HostConfig config;
  config.dll = string_option(options, "dll");
  config.virtual_dir = string_option(options, "virtualDir");
  config.physical_path = string_option(options, "physicalPath");
  config.site_id = static_cast<std::uint32_t>(number_option(options, "siteId"));
  config.read_ahead = static_cast<std::size_t>(number_option(options, "readAhead"));
  config.body_buffer = static_cast<std::size_t>(number_option(options, "bodyBuffer"));
  config.write_buffer = static_cast<std::size_t>(number_option(options, "writeBuffer"));
  config.threads = static_cast<unsigned>(number_option(options, "threads"));
  config.max_threads = static_cast<unsigned>(number_option(options, "maxThreads"));
  config.block_warn_ms = static_cast<std::uint32_t>(number_option(options, "blockWarnMs"));
  config.verify = bool_field(options, "verify");
  config.done_timeout_ms = static_cast<std::uint32_t>(number_option(options, "doneTimeoutMs"));
  // lib/host calls wakeDispatches() once per turn of the event loop that began requests.
  config.batch_dispatches = true;

  virtual_dir_ = config.virtual_dir;
  sink_ = ThreadSafeSink::create(env, info[1].As<Napi::Function>());
  try {
    host_ = Host::create(config, sink_);
  } catch (const std::exception& error) {
    sink_->close();
    throw Napi::Error::New(env, error.what());
  }
  cleanup_ = env.AddCleanupHook(&HostObject::at_exit, this);
}

// JS thread (garbage collection): a host dropped without close() still terminates.
HostObject::~HostObject() {
  if (!cleanup_.IsEmpty())
    cleanup_.Remove(Env());
  shut_down();
}

// JS thread, environment teardown (process or worker exit).
void HostObject::at_exit(HostObject* self) {
  self->cleanup_ = {};
  self->shut_down();
}

void HostObject::shut_down() {
  if (host_) {
    // JS can no longer answer writes: abandon outstanding requests at once.
    host_->close_now(0);
    host_.reset();
  }
  if (sink_)
    sink_->close();
}

std::shared_ptr<Request> HostObject::request_arg(const Napi::CallbackInfo& info) {
  if (!host_ || info.Length() < 1 || !info[0].IsNumber())
    return nullptr;
  return host_->find(static_cast<std::uint64_t>(info[0].As<Napi::Number>().DoubleValue()));
}

// JS thread. begin(method, target, httpVersion, headers, remoteAddress, remotePort,
// localAddress, localPort, flags, contentLength, authType, authUser, tls) -> id (0 when
// closing). Positional, as lib/host/binding.ts beginRequest() lays them out: an argument
// is an index, where a property of an info object is a lookup by name, and this runs
// once per request.
Napi::Value HostObject::JS_begin(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!host_)
    return Napi::Number::New(env, 0);
  if (info.Length() < 12 || !info[1].IsString() || !info[3].IsString())
    throw Napi::TypeError::New(env, "begin(method, target, httpVersion, headers, ...)");
  const auto text = [&](std::size_t i) {
    return info[i].IsString() ? info[i].As<Napi::String>().Utf8Value() : std::string();
  };
  const auto number = [&](std::size_t i) {
    return info[i].IsNumber() ? info[i].As<Napi::Number>().DoubleValue() : 0;
  };
  RequestInfo request;
  request.method = text(0);
  request.raw_target = latin1(info[1]);
  request.http_version = text(2);
  request.headers = header_pairs(latin1(info[3]));
  request.remote_addr = text(4);
  request.remote_port = static_cast<std::uint16_t>(number(5));
  request.local_addr = text(6);
  request.local_port = static_cast<std::uint16_t>(number(7));
  const auto flags = static_cast<std::uint32_t>(number(8));
  request.client_keep_alive = (flags & begin_keep_alive) != 0;
  request.length_known = (flags & begin_length_known) != 0;
  request.content_length = static_cast<std::uint64_t>(number(9));
  request.auth_type = text(10);
  request.auth_user = text(11);
  // TLS facts: an object, on TLS connections only.
  if (info.Length() > 12 && info[12].IsObject()) {
    Napi::Object tls = info[12].As<Napi::Object>();
    request.tls = true;
    request.tls_key_size = static_cast<std::uint32_t>(number_field(tls, "keySize"));
    request.tls_secret_key_size = static_cast<std::uint32_t>(number_field(tls, "secretKeySize"));
    request.tls_server_issuer = string_field(tls, "issuer");
    request.tls_server_subject = string_field(tls, "subject");
  }
  const std::uint64_t id = host_->begin(std::move(request));
  if (id != 0)
    sink_->hold(env); // until its `finished` event is delivered
  return Napi::Number::New(env, static_cast<double>(id));
}

// JS thread. pushBody(id, buffer) -> false when the host's buffer is full (pause).
Napi::Value HostObject::JS_pushBody(const Napi::CallbackInfo& info) {
  auto request = request_arg(info);
  if (!request || info.Length() < 2 || !info[1].IsBuffer())
    return Napi::Boolean::New(info.Env(), true);
  auto buffer = info[1].As<Napi::Buffer<std::uint8_t>>();
  return Napi::Boolean::New(info.Env(), request->push_body(buffer.Data(), buffer.Length()));
}

// JS thread.
Napi::Value HostObject::JS_endBody(const Napi::CallbackInfo& info) {
  if (auto request = request_arg(info))
    request->end_body();
  return info.Env().Undefined();
}

// JS thread. writeDone(id, seq, ok): the socket took (or refused) the writes up to the
// awaited write event numbered seq.
Napi::Value HostObject::JS_writeDone(const Napi::CallbackInfo& info) {
  auto request = request_arg(info);
  if (request && info.Length() > 2 && info[1].IsNumber())
    request->write_done(info[1].As<Napi::Number>().Uint32Value(), info[2].ToBoolean().Value());
  return info.Env().Undefined();
}

// JS thread. releaseBuffer(buffer): the socket is done with a write event's Buffer.
Napi::Value HostObject::JS_releaseBuffer(const Napi::CallbackInfo& info) {
  return release_buffer(info);
}

// JS thread.
Napi::Value HostObject::JS_clientGone(const Napi::CallbackInfo& info) {
  if (auto request = request_arg(info))
    request->client_gone();
  return info.Env().Undefined();
}

// JS thread, once per turn of the event loop that dispatched requests (pushBody, endBody
// and begin may): they get a pool thread now.
Napi::Value HostObject::JS_wakeDispatches(const Napi::CallbackInfo& info) {
  if (host_)
    host_->wake_dispatches();
  return info.Env().Undefined();
}

// JS thread, when the host has been idle a while after a burst of requests.
Napi::Value HostObject::JS_releaseMemory(const Napi::CallbackInfo& info) {
#if defined(ISAPI_HOST_HAS_V8)
  if (v8::Isolate* isolate = v8::Isolate::GetCurrent())
    isolate->MemoryPressureNotification(v8::MemoryPressureLevel::kCritical);
#endif
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
  return info.Env().Undefined();
}

// JS thread. close(deadlineMs): a `closed` event follows; then call releaseEvents().
Napi::Value HostObject::JS_close(const Napi::CallbackInfo& info) {
  const double deadline =
      info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : 30000;
  if (host_ && host_->close_async(static_cast<std::uint32_t>(deadline)))
    sink_->hold(info.Env()); // until the `closed` event is delivered
  return info.Env().Undefined();
}

// JS thread, after the `closed` event: no more events will come.
Napi::Value HostObject::JS_releaseEvents(const Napi::CallbackInfo& info) {
  if (!cleanup_.IsEmpty()) {
    cleanup_.Remove(info.Env());
    cleanup_ = {};
  }
  host_.reset();
  if (sink_)
    sink_->close();
  return info.Env().Undefined();
}

// JS thread.
Napi::Value HostObject::JS_liveRequests(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), host_ ? static_cast<double>(host_->live_requests()) : 0);
}

// JS thread. insideVirtualDir(target): the gate, on the path the extension will see.
Napi::Value HostObject::JS_insideVirtualDir(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsString())
    throw Napi::TypeError::New(info.Env(), "insideVirtualDir(target)");
  const std::string path = canonical_path(latin1(info[0]));
  return Napi::Boolean::New(info.Env(), inside_virtual_dir(path, virtual_dir_));
}

// JS thread.
Napi::Value HostObject::JS_poolThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), host_ ? static_cast<double>(host_->pool_threads()) : 0);
}

// JS thread. { version, description } from GetExtensionVersion.
Napi::Value HostObject::JS_extension(const Napi::CallbackInfo& info) {
  Napi::Object result = Napi::Object::New(info.Env());
  if (host_) {
    result.Set("version", Napi::Number::New(info.Env(), host_->extension_version()));
    result.Set("description", Napi::String::New(info.Env(), host_->extension_description()));
  }
  return result;
}

} // namespace isapi_host
