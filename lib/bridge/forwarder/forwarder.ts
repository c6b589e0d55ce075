// The forwarder App: sends the request to Kallithea over keep-alive HTTP/1.1 and streams
// the response back. The bridge's own client (upstream-client/) gives keep-alive,
// per-phase timeouts and backpressure both ways (a full FastCGI socket stops our reads of
// the body, which pauses the upstream socket); nothing is buffered whole. upstreams.ts says where a request goes (one external
// Kallithea, or one of the bridge's workers); upstream-exchange.ts is the handler one
// request is dispatched with.
import { headerKeys, headerName, type Environ } from '../environ/environ.js';
import {
  BridgeError,
  ClientAbortedError,
  ForwarderError,
  InvalidRequestError,
  RequestBodyError,
  UpstreamTimeoutError,
  UpstreamUnreachableError,
} from '../errors.js';
import type { RequestAbort } from '../fastcgi/request-abort.js';
import type { App, Body, ResponseHeaders } from '../pipeline/types.js';
import { isLongVcsStream } from '../workers/long-stream.js';
import { requestBody, type RequestBody } from './request-body.js';
import { upstreamTarget } from './target.js';
import { errorDetail, UpstreamExchange, type UpstreamResponse } from './upstream-exchange.js';
import { ExternalUpstream, type Lease, type UpstreamFigures, type Upstreams } from './upstreams.js';

export interface ForwarderOptions {
  /** Kallithea's origin, e.g. `http://127.0.0.1:5000`; unused when `upstreams` is given. */
  readonly upstream: string;
  /** The bridge's own Kallithea workers (workers/router.ts) instead of `upstream`. */
  readonly upstreams?: Upstreams;
  /** Seconds to establish a TCP connection. */
  readonly connectTimeout: number;
  /** Seconds from sending the request to receiving the response headers. */
  readonly headersTimeout: number;
  /** Seconds of silence allowed between two body chunks (long: slow clones). */
  readonly bodyTimeout: number;
  /** Keep-alive connections to Kallithea. */
  readonly maxConnections: number;
  /** Requests allowed to wait for a connection before the forwarder answers 503. */
  readonly maxWaiting?: number;
  /** TCP keep-alive probes to Kallithea (default true; false only for the Wine test stack). */
  readonly tcpKeepAlive?: boolean;
}

export interface Forwarder {
  readonly app: App;
  /** Requests in flight and waiting, and connections, towards Kallithea (the status page). */
  figures(): UpstreamFigures;
  /** Waits for requests in flight, then closes the pool. */
  close(): Promise<void>;
  /** Closes every connection now, failing requests in flight. */
  destroy(): Promise<void>;
}

/** Response body bytes queued unread before the upstream socket is paused. */
const BODY_HIGH_WATER_MARK = 64 * 1024;

/** For an upstream that never waits: a signal that is never aborted, made once. */
const NEVER = new AbortController().signal;

/** Methods a web server may hand on that an origin server cannot be asked. */
const REFUSED_METHODS: ReadonlySet<string> = new Set(['CONNECT']);
/** Methods without side effects (RFC 9110, 9.2.1): sent again when a worker was unreachable. */
const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);
const METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Error codes that mean Kallithea could not be reached (or dropped the connection early):
 * the system's, and the client's (upstream-client/errors.ts; named as undici named them).
 */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'ENOENT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

function errorCode(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error) return String(error.code);
  return '';
}

/**
 * Environ -> the request headers, names in conventional case, values latin1 byte strings.
 * The header policy already chose them (headers/policy.ts); the client checks each value.
 * Content-Length and Transfer-Encoding are the client's to write, from the framing.
 * To the bridge's own workers it adds X-Kallithea-Isapi: the hop token, the scheme and the
 * client's address, which the worker makes wsgi.url_scheme and REMOTE_ADDR (a client's
 * copy of the header was dropped by the policy, and has no token anyway).
 */
function upstreamHeaders(environ: Environ, hopToken: string | undefined): string[] {
  const headers: string[] = [];
  for (const key of headerKeys(environ)) headers.push(headerName(key), environ[key] as string);
  if (environ.CONTENT_TYPE !== '') headers.push('Content-Type', environ.CONTENT_TYPE);
  if (hopToken !== undefined) {
    headers.push('X-Kallithea-Isapi', `${hopToken} ${environ['wsgi.url_scheme']} ${environ.REMOTE_ADDR}`);
  }
  return headers;
}

function responseHeaders(raw: string[]): ResponseHeaders {
  const headers: ResponseHeaders = [];
  for (let i = 0; i + 1 < raw.length; i += 2) headers.push([raw[i] as string, raw[i + 1] as string]);
  return headers;
}

export function createForwarder(options: ForwarderOptions): Forwarder {
  const upstreams =
    options.upstreams ??
    new ExternalUpstream(options.upstream, options, options.maxConnections, options.maxWaiting ?? 1000);
  // Only the workers' queue waits, and it wants the client's AbortSignal for that; the
  // external pool answers at once, so its requests never make one.
  const workers = options.upstreams;
  const acquire = (environ: Environ): Lease | Promise<Lease> =>
    workers === undefined
      ? upstreams.acquire(NEVER)
      : workers.acquire(environ['kallithea_isapi.abort'].signal, isLongVcsStream(environ));

  /**
   * Maps a failure before the response headers to the one error the error pages render and
   * log: its class says who failed (client, request, Kallithea, the bridge), its message the
   * real cause.
   */
  function beforeHeaders(error: unknown, abort: RequestAbort, upstream: string): BridgeError {
    if (abort.aborted) return new ClientAbortedError();
    if (error instanceof BridgeError) return error;
    const code = errorCode(error);
    const detail = errorDetail(error);
    if (code === 'UND_ERR_HEADERS_TIMEOUT') return new UpstreamTimeoutError(upstream, options.headersTimeout);
    if (code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH') return new RequestBodyError(detail);
    // The client checks the method, target and every header value (CR, LF, NUL) as it builds the head.
    if (code === 'UND_ERR_INVALID_ARG') return new InvalidRequestError(detail);
    if (UNREACHABLE.has(code)) return new UpstreamUnreachableError(upstream, detail);
    return new ForwarderError(detail, error);
  }

  const app: App = async function forward(environ, startResponse): Promise<Body> {
    const invalid = environ['kallithea_isapi.invalid'];
    if (invalid !== undefined) throw new InvalidRequestError(invalid);
    const method = environ.REQUEST_METHOD;
    if (!METHOD.test(method) || REFUSED_METHODS.has(method.toUpperCase())) {
      throw new InvalidRequestError(`method ${JSON.stringify(method)} is not forwarded`);
    }
    const abort = environ['kallithea_isapi.abort'];
    // The body first: no promise of the exchange exists while this may throw (an abort while
    // waiting for a chunked body's first chunk used to reject `response` with nobody
    // awaiting it, and that ended the process).
    let framed: RequestBody;
    try {
      const body = requestBody(environ);
      framed = body instanceof Promise ? await body : body;
    } catch (error) {
      throw beforeHeaders(error, abort, '');
    }
    // A bodiless GET/HEAD/OPTIONS may be sent again: a worker that died a moment ago (its
    // exit not yet seen by the supervisor) refuses or drops the connection before answering,
    // and the request is then retried once on another worker rather than answered 502.
    const retriable = framed.body === null && SAFE_METHODS.has(method.toUpperCase());
    let response: UpstreamResponse | undefined;
    for (let attempt = 1; response === undefined; attempt += 1) {
      // A worker is held from here until the exchange is over, however it ends (end, abort,
      // error): a long clone keeps its worker, and no other request shares it.
      const acquired = acquire(environ);
      const lease: Lease = acquired instanceof Promise ? await acquired : acquired;
      if (lease.worker !== undefined) environ['kallithea_isapi.worker'] = lease.worker;
      const exchange = new UpstreamExchange(lease.origin, abort, BODY_HIGH_WATER_MARK, (failure) =>
        lease.release(failure !== undefined && UNREACHABLE.has(errorCode(failure))),
      );
      try {
        // The client reports its own refusals through exchange.onError, which rejects `response`.
        lease.dispatcher.dispatch(
          {
            method,
            path: upstreamTarget(environ['kallithea_isapi.raw_target']),
            headers: upstreamHeaders(environ, lease.hopToken),
            body: framed.body,
            contentLength: framed.contentLength,
          },
          exchange,
        );
        response = await exchange.response;
      } catch (error) {
        exchange.return();
        const failure = beforeHeaders(error, abort, lease.origin);
        const again = retriable && attempt === 1 && lease.worker !== undefined;
        if (!(again && failure instanceof UpstreamUnreachableError)) throw failure;
      }
    }
    startResponse(
      response.statusCode,
      responseHeaders(response.rawHeaders),
      response.statusText || undefined,
    );
    return response.body;
  };

  return {
    app,
    figures: () => upstreams.figures(),
    close: () => upstreams.close(),
    destroy: () => upstreams.destroy(),
  };
}
