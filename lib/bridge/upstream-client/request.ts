// One request as the forwarder hands it to the client, and its head as bytes on the wire.
// The head is built and checked once, before a connection is taken: a value that cannot be
// sent (CR, LF, NUL) is refused without touching the upstream. Header names and values are
// latin1 strings holding the client's bytes one per character, written as latin1.
import type { Readable } from 'node:stream';
import { clientError, INVALID_ARGUMENT } from './errors.js';

export interface UpstreamRequest {
  readonly method: string;
  /** The request target, already free of space and control bytes (forwarder/target.ts). */
  readonly path: string;
  /** Name, value, name, value... without Content-Length, Transfer-Encoding or Connection. */
  readonly headers: readonly string[];
  /** null: no body. */
  readonly body: Readable | null;
  /** The body's length; null with a body: sent chunked. */
  readonly contentLength: number | null;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
const BAD_TARGET = /[^\x21-\xff]/;
/** Methods whose bodiless request still says Content-Length: 0 (as undici did). */
const EXPECTS_BODY: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'QUERY', 'PROPFIND', 'PROPPATCH']);

/**
 * The request line and headers, ending with the blank line. `host` is the origin's
 * host:port, sent when the request has no Host of its own.
 */
export function requestHead(request: UpstreamRequest, host: string): string {
  const { method, path, headers } = request;
  if (!TOKEN.test(method)) throw clientError(INVALID_ARGUMENT, `invalid method ${JSON.stringify(method)}`);
  if (BAD_TARGET.test(path)) throw clientError(INVALID_ARGUMENT, 'invalid request path');
  let head = `${method} ${path} HTTP/1.1\r\n`;
  let hasHost = false;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i] as string;
    const value = headers[i + 1] as string;
    if (!TOKEN.test(name)) throw clientError(INVALID_ARGUMENT, `invalid header name ${JSON.stringify(name)}`);
    if (BAD_VALUE.test(value)) throw clientError(INVALID_ARGUMENT, `invalid ${name} header`);
    if (name.length === 4 && name.toLowerCase() === 'host') {
      // Lower case, as undici wrote it (some tests and logs compare the exact bytes).
      hasHost = true;
      head += `host: ${value}\r\n`;
    } else {
      head += `${name}: ${value}\r\n`;
    }
  }
  if (!hasHost) head += `host: ${host}\r\n`;
  head += 'connection: keep-alive\r\n';
  if (request.contentLength !== null) {
    head += `content-length: ${request.contentLength}\r\n`;
  } else if (request.body !== null) {
    head += 'transfer-encoding: chunked\r\n';
  } else if (EXPECTS_BODY.has(method)) {
    head += 'content-length: 0\r\n';
  }
  return `${head}\r\n`;
}
