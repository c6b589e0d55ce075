// The client's failures carry the error codes undici gave for the same events, so the
// forwarder's mapping (forwarder.ts: unreachable -> 502, headers timeout -> 504, request
// body mismatch -> 400, a refused argument -> 400, a malformed response -> 500) and the
// logs that quote the codes stay as they were when undici was the client. Socket errors
// from the operating system (ECONNREFUSED, ECONNRESET, EPIPE...) are passed on unchanged.

/** A failure of one exchange with the upstream, with a stable `code`. */
export class UpstreamClientError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = 'UpstreamClientError';
    this.code = code;
  }
}

/** No TCP connection within connect_timeout. */
export const CONNECT_TIMEOUT = 'UND_ERR_CONNECT_TIMEOUT';
/** No response head within headers_timeout of the last request byte. */
export const HEADERS_TIMEOUT = 'UND_ERR_HEADERS_TIMEOUT';
/** No response body byte for body_timeout while the consumer was ready for more. */
export const BODY_TIMEOUT = 'UND_ERR_BODY_TIMEOUT';
/** The upstream closed the connection before the response was complete. */
export const SOCKET_CLOSED = 'UND_ERR_SOCKET';
/** The pool was closed or destroyed with the request still waiting or running. */
export const POOL_CLOSED = 'UND_ERR_CLOSED';
/** The request body had more or fewer bytes than its Content-Length. */
export const CONTENT_LENGTH_MISMATCH = 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH';
/** The request cannot be written as HTTP/1.1 (a CR, LF or NUL in a value, a bad method). */
export const INVALID_ARGUMENT = 'UND_ERR_INVALID_ARG';
/** The response head exceeded the header limit. */
export const HEADERS_OVERFLOW = 'UND_ERR_HEADERS_OVERFLOW';
/** The response broke HTTP/1.1 framing (llhttp's code family, as undici reported it). */
export const MALFORMED_RESPONSE = 'HPE_INVALID_CONSTANT';
/** Content-Length missing digits, repeated, or sent with Transfer-Encoding. */
export const BAD_CONTENT_LENGTH = 'HPE_UNEXPECTED_CONTENT_LENGTH';
/** A chunk size that is not hexadecimal, too large, or not followed by CRLF. */
export const BAD_CHUNK = 'HPE_INVALID_CHUNK_SIZE';
/** The status line is not `HTTP/1.x NNN reason`. */
export const BAD_STATUS = 'HPE_INVALID_STATUS';

export function clientError(code: string, message: string): UpstreamClientError {
  return new UpstreamClientError(code, message);
}
