#include "fake_host.hpp"

#include <cstring>
#include <stdexcept>

namespace fake {
namespace {

host* the_host = nullptr;

connection* conn_of(HCONN h) {
  return static_cast<connection*>(h);
}

BOOL WINAPI get_server_variable(HCONN h, LPSTR name, LPVOID buf, LPDWORD size) {
  connection* c = conn_of(h);
  if (!c->throw_on_variable.empty() && c->throw_on_variable == name)
    throw std::runtime_error("fake host: GetServerVariable(" + c->throw_on_variable + ") failed");
  {
    std::lock_guard<std::mutex> lock(the_host->mutex);
    c->variable_threads.insert(std::this_thread::get_id());
  }
  auto it = c->variables.find(name);
  if (it == c->variables.end()) {
    isapi_set_last_error(ERROR_INVALID_INDEX);
    return FALSE;
  }
  DWORD need = static_cast<DWORD>(it->second.size() + 1);
  if (*size < need) {
    *size = need;
    isapi_set_last_error(ERROR_INSUFFICIENT_BUFFER);
    return FALSE;
  }
  std::memcpy(buf, it->second.c_str(), need);
  *size = need;
  return TRUE;
}

void complete(connection* c, DWORD cb, DWORD err) {
  the_host->post([c, cb, err] {
    PFN_HSE_IO_COMPLETION fn;
    void* ctx;
    {
      std::lock_guard<std::mutex> lock(the_host->mutex);
      --c->async_in_flight;
      fn = c->callback;
      ctx = c->context;
    }
    fn(&c->ecb, ctx, cb, err);
  });
}

void begin_async(connection* c) {
  std::lock_guard<std::mutex> lock(the_host->mutex);
  ++c->async_in_flight;
  if (c->async_in_flight > c->max_async_in_flight)
    c->max_async_in_flight = c->async_in_flight;
}

/// An async write of memory buffers (WriteClient's one, or a vector send's elements): taken
/// at once, completed on the host thread.
BOOL deliver(connection* c, const HSE_VECTOR_ELEMENT* elements, DWORD count) {
  begin_async(c);
  DWORD n = 0;
  for (DWORD i = 0; i < count; ++i)
    n += static_cast<DWORD>(elements[i].cbSize);
  {
    std::lock_guard<std::mutex> lock(the_host->mutex);
    if (c->closed || c->output.size() + n > c->write_fails_after) {
      complete(c, 0, ERROR_NETNAME_DELETED);
      return TRUE;
    }
    for (DWORD i = 0; i < count; ++i)
      c->output.append(static_cast<const char*>(elements[i].pvContext),
                       static_cast<std::size_t>(elements[i].cbSize));
  }
  if (c->write_gate) {
    std::size_t index = c->writes++;
    the_host->post([c, index] { c->write_gate(index); });
  }
  complete(c, n, 0);
  return TRUE;
}

BOOL WINAPI write_client(HCONN h, LPVOID buf, LPDWORD bytes, DWORD flags) {
  if (!(flags & HSE_IO_ASYNC))
    return FALSE; // the DLL never writes synchronously
  HSE_VECTOR_ELEMENT one{HSE_VECTOR_ELEMENT_TYPE_MEMORY_BUFFER, buf, 0, *bytes};
  return deliver(conn_of(h), &one, 1);
}

/// HSE_REQ_VECTOR_SEND, as the DLL uses it: async, memory buffers; the head (if any) is
/// recorded as SEND_RESPONSE_HEADER_EX records it, the elements go out as one write.
BOOL vector_send(connection* c, const HSE_RESPONSE_VECTOR* v) {
  bool with_head = (v->dwFlags & HSE_IO_SEND_HEADERS) != 0;
  if (!(v->dwFlags & HSE_IO_ASYNC) || with_head != (v->pszStatus != nullptr) ||
      with_head != (v->pszHeaders != nullptr) || (v->nElementCount > 0 && !v->lpElementArray)) {
    isapi_set_last_error(ERROR_INVALID_PARAMETER);
    return FALSE;
  }
  for (DWORD i = 0; i < v->nElementCount; ++i) {
    const HSE_VECTOR_ELEMENT& e = v->lpElementArray[i];
    if (e.ElementType != HSE_VECTOR_ELEMENT_TYPE_MEMORY_BUFFER || e.cbOffset != 0 ||
        (e.cbSize > 0 && !e.pvContext)) {
      isapi_set_last_error(ERROR_INVALID_PARAMETER);
      return FALSE;
    }
  }
  {
    std::lock_guard<std::mutex> lock(the_host->mutex);
    ++c->vector_sends;
    if (with_head) {
      if (!c->status.empty())
        return FALSE;
      c->status = v->pszStatus;
      c->headers = v->pszHeaders;
      c->keep_conn_header = !(v->dwFlags & HSE_IO_DISCONNECT_AFTER_SEND);
    }
  }
  return deliver(c, v->lpElementArray, v->nElementCount);
}

BOOL WINAPI read_client(HCONN, LPVOID, LPDWORD) {
  return FALSE;
}

BOOL WINAPI support(HCONN h, DWORD req, LPVOID buf, LPDWORD size, LPDWORD data_type) {
  connection* c = conn_of(h);
  switch (req) {
  case HSE_REQ_IO_COMPLETION: {
    std::lock_guard<std::mutex> lock(the_host->mutex);
    c->callback = reinterpret_cast<PFN_HSE_IO_COMPLETION>(buf);
    c->context = data_type;
    return TRUE;
  }
  case HSE_REQ_SEND_RESPONSE_HEADER_EX: {
    auto* info = static_cast<HSE_SEND_HEADER_EX_INFO*>(buf);
    std::lock_guard<std::mutex> lock(the_host->mutex);
    if (!c->status.empty())
      return FALSE;
    c->status.assign(info->pszStatus, info->cchStatus);
    c->headers.assign(info->pszHeader, info->cchHeader);
    c->keep_conn_header = info->fKeepConn != FALSE;
    return TRUE;
  }
  case HSE_REQ_VECTOR_SEND:
    return vector_send(c, static_cast<const HSE_RESPONSE_VECTOR*>(buf));
  case HSE_REQ_ASYNC_READ_CLIENT: {
    begin_async(c);
    std::lock_guard<std::mutex> lock(the_host->mutex);
    std::size_t limit =
        c->client_gone_after < c->body.size() ? c->client_gone_after : c->body.size();
    if (c->closed) {
      complete(c, 0, ERROR_OPERATION_ABORTED);
      return TRUE;
    }
    std::size_t n = *size;
    if (n > limit - c->body_offset)
      n = limit - c->body_offset;
    if (n > 10000) // short reads, as real hosts give
      n = 10000;
    std::memcpy(buf, c->body.data() + c->body_offset, n);
    c->body_offset += n;
    complete(c, static_cast<DWORD>(n), 0);
    return TRUE;
  }
  case HSE_REQ_IS_CONNECTED: {
    std::lock_guard<std::mutex> lock(the_host->mutex);
    *static_cast<BOOL*>(buf) = c->client_left || c->closed ? FALSE : TRUE;
    return TRUE;
  }
  case HSE_REQ_CLOSE_CONNECTION: {
    std::lock_guard<std::mutex> lock(the_host->mutex);
    c->closed = true;
    return TRUE;
  }
  case HSE_REQ_DONE_WITH_SESSION: {
    {
      std::lock_guard<std::mutex> lock(the_host->mutex);
      if (c->on_done)
        c->on_done(); // under the lock: what it records is seen by wait_done's caller
      ++c->done_calls;
      c->done_status = buf ? *static_cast<DWORD*>(buf) : 0;
    }
    // After unlocking: a waiter woken under the lock would at once sleep again on it.
    the_host->changed.notify_all();
    return TRUE;
  }
  default:
    isapi_set_last_error(ERROR_INVALID_PARAMETER);
    return FALSE;
  }
}

} // namespace

host::host() {
  the_host = this;
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(queue_mutex_);
    for (;;) {
      queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty())
        return;
      auto f = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      f();
      lock.lock();
    }
  });
}

host::~host() {
  {
    std::lock_guard<std::mutex> lock(queue_mutex_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  thread_.join();
  the_host = nullptr;
}

void host::post(std::function<void()> f) {
  {
    std::lock_guard<std::mutex> lock(queue_mutex_);
    queue_.push_back(std::move(f));
  }
  queue_cv_.notify_all();
}

DWORD host::run(connection& c, PFN_HTTPEXTENSIONPROC proc) {
  EXTENSION_CONTROL_BLOCK& e = c.ecb;
  e.cbSize = sizeof e;
  e.dwVersion = HSE_VERSION;
  e.ConnID = &c;
  e.lpszMethod = c.method.data();
  e.lpszQueryString = c.query.data();
  e.lpszPathInfo = c.path_info.data();
  e.lpszPathTranslated = c.path_info.data();
  e.lpszContentType = c.content_type.data();
  e.cbTotalBytes = c.unknown_length ? 0xFFFFFFFF : static_cast<DWORD>(c.body.size());
  c.preread = std::min(c.preread, c.body.size());
  e.cbAvailable = static_cast<DWORD>(c.preread);
  e.lpbData = reinterpret_cast<LPBYTE>(c.body.data());
  c.body_offset = c.preread;
  e.GetServerVariable = get_server_variable;
  e.WriteClient = write_client;
  e.ReadClient = read_client;
  e.ServerSupportFunction = support;
  if (!c.variables.count("SERVER_PROTOCOL"))
    c.variables["SERVER_PROTOCOL"] = "HTTP/1.1";
  c.variables["URL"] = c.path_info;
  c.variables["UNENCODED_URL"] = c.path_info;
  return proc(&e);
}

bool host::wait_done(connection& c, int seconds) {
  std::unique_lock<std::mutex> lock(mutex);
  return changed.wait_for(lock, std::chrono::seconds(seconds), [&] { return c.done_calls > 0; });
}

} // namespace fake
