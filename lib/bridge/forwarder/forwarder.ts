// The forwarder App: sends the request to Kallithea over a keep-alive HTTP/1.1 pool and
// streams the response back. undici's Pool gives keep-alive, per-phase timeouts and
// backpressure both ways (a full FastCGI socket stops our reads of the body, which pauses
// the upstream socket); nothing is buffered whole. upstream-exchange.ts is the handler one
// request is dispatched with.
import { Pool } from 'undici';
import { headerKeys, headerName, type Environ } from '../environ/environ.js';
import {
  BridgeError,
  ClientAbortedError,
  ForwarderError,
  InvalidRequestError,
  RequestBodyError,
  UpstreamBusyError,
  UpstreamTimeoutError,
  UpstreamUnreachableError,
} from '../errors.js';
import type { App, Body, ResponseHeaders } from '../pipeline/types.js';
import { requestBody, type RequestBody } from './request-body.js';
import { upstreamTarget } from './target.js';
import { errorDetail, UpstreamExchange, type UpstreamResponse } from './upstream-exchange.js';

export interface ForwarderOptions {
  /** Kallithea's origin, e.g. `http://127.0.0.1:5000`. */
  readonly upstream: string;
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
  /**
   * TCP keep-alive probes on upstream connections (default true). false only for the Wine
   * test stack: Wine fails setKeepAlive(true, delay) on a connecting socket ("UNKNOWN connect").
   */
  readonly tcpKeepAlive?: boolean;
}

export interface Forwarder {
  readonly app: App;
  /** Waits for requests in flight, then closes the pool. */
  close(): Promise<void>;
  /** Closes every connection now, failing requests in flight. */
  destroy(): Promise<void>;
}

const SECONDS = 1000;

/** Response body bytes queued unread before the upstream socket is paused. */
const BODY_HIGH_WATER_MARK = 64 * 1024;

/** Methods a web server may hand on that an origin server cannot be asked (undici refuses them). */
const REFUSED_METHODS: ReadonlySet<string> = new Set(['CONNECT']);
const METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** undici error codes that mean Kallithea could not be reached (or dropped the connection early). */
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
 * The header policy already chose them (headers/policy.ts); undici checks each value.
 */
function upstreamHeaders(environ: Environ, contentLength: number | null): string[] {
  const headers: string[] = [];
  for (const key of headerKeys(environ)) headers.push(headerName(key), environ[key] as string);
  if (environ.CONTENT_TYPE !== '') headers.push('Content-Type', environ.CONTENT_TYPE);
  if (contentLength !== null) headers.push('Content-Length', String(contentLength));
  return headers;
}

function responseHeaders(raw: string[]): ResponseHeaders {
  const headers: ResponseHeaders = [];
  for (let i = 0; i + 1 < raw.length; i += 2) headers.push([raw[i] as string, raw[i + 1] as string]);
  return headers;
}

export function createForwarder(options: ForwarderOptions): Forwarder {
  const upstream = new URL(options.upstream).origin;
  const maxWaiting = options.maxWaiting ?? 1000;
  const pool = new Pool(upstream, {
    connections: options.maxConnections,
    pipelining: 1,
    connectTimeout: options.connectTimeout * SECONDS,
    headersTimeout: options.headersTimeout * SECONDS,
    bodyTimeout: options.bodyTimeout * SECONDS,
    connect: { keepAlive: options.tcpKeepAlive ?? true },
  });
  let inFlight = 0;

  /**
   * Maps a failure before the response headers to the one error the error pages render and
   * log: its class says who failed (client, request, Kallithea, the bridge), its message the
   * real cause.
   */
  function beforeHeaders(error: unknown, signal: AbortSignal): BridgeError {
    if (signal.aborted) return new ClientAbortedError();
    if (error instanceof BridgeError) return error;
    const code = errorCode(error);
    const detail = errorDetail(error);
    if (code === 'UND_ERR_HEADERS_TIMEOUT') return new UpstreamTimeoutError(upstream, options.headersTimeout);
    if (code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH') return new RequestBodyError(detail);
    // undici checks the method, target and every header value (CR, LF, NUL) as it builds the request.
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
    if (inFlight >= options.maxConnections + maxWaiting) throw new UpstreamBusyError(inFlight, 5);
    const signal = environ['kallithea_isapi.signal'];
    // The body first: no promise of the exchange exists while this may throw (an abort while
    // waiting for a chunked body's first chunk used to reject `response` with nobody
    // awaiting it, and that ended the process).
    let framed: RequestBody;
    try {
      framed = await requestBody(environ);
    } catch (error) {
      throw beforeHeaders(error, signal);
    }
    inFlight += 1;
    // Counted out once the exchange is over, however it ends (end, abort, error).
    const exchange = new UpstreamExchange(upstream, signal, BODY_HIGH_WATER_MARK, () => (inFlight -= 1));
    let response: UpstreamResponse;
    try {
      // undici reports its own refusals through exchange.onError, which rejects `response`.
      pool.dispatch(
        {
          method,
          path: upstreamTarget(environ['kallithea_isapi.raw_target']),
          headers: upstreamHeaders(environ, framed.contentLength),
          body: framed.body,
        },
        exchange,
      );
      response = await exchange.response;
    } catch (error) {
      exchange.return();
      throw beforeHeaders(error, signal);
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
    close: () => pool.close(),
    destroy: () => pool.destroy(),
  };
}
