// The WSGI-style environ: what every middleware and the forwarder see of a request.
// Deliberately small and typed (PEP 3333 in spirit): CGI variables as strings, request
// headers as HTTP_* keys, and a few namespaced keys the bridge itself needs.
import type { Readable } from 'node:stream';
import type { RequestAbort } from '../fastcgi/request-abort.js';

/** An HTTP request header as a WSGI key: `HTTP_` + name upper-cased with `-` turned to `_`. */
export type HeaderKey = `HTTP_${string}`;

export interface Environ {
  REQUEST_METHOD: string;
  /** Where the application is mounted (IIS: the virtual directory, `''` at site root). Decoded. */
  SCRIPT_NAME: string;
  /** The rest of the path below SCRIPT_NAME, percent-decoded, UTF-8 (latin1 if not valid UTF-8). */
  PATH_INFO: string;
  /** Raw, still percent-encoded; no leading `?`. */
  QUERY_STRING: string;
  /** `''` when the request has none. */
  CONTENT_TYPE: string;
  /** Decimal length of the body, or `''` when it is unknown (chunked): then read to end. */
  CONTENT_LENGTH: string;
  SERVER_NAME: string;
  SERVER_PORT: string;
  SERVER_PROTOCOL: string;
  REMOTE_ADDR: string;
  REMOTE_PORT: string;
  /** The authenticated user as the web server reports it (IIS: after any mapping), or `''`. */
  REMOTE_USER: string;
  /** IIS: the user name as the client gave it, before any mapping; `''` elsewhere. */
  AUTH_USER: string;
  AUTH_TYPE: string;
  /** Request headers. Values are latin1 strings: one character per byte as received. */
  [header: HeaderKey]: string | undefined;
  'wsgi.url_scheme': 'http' | 'https';
  /** The request body; ends where the web server's STDIN ends. */
  'wsgi.input': Readable;
  /**
   * True when the web server had already ended STDIN, empty, as the request started: there
   * is no body, whatever CONTENT_LENGTH says, and wsgi.input need not be made or read.
   */
  'kallithea_isapi.input_empty': boolean;
  /**
   * The request target exactly as the client sent it (path and query, percent-encoding and
   * raw bytes kept), as a latin1 string. The forwarder sends this, not PATH_INFO.
   */
  'kallithea_isapi.raw_target': string;
  /**
   * Aborted when the client (or the web server's connection) goes away. `.signal` gives a
   * standard AbortSignal, made on first use.
   */
  'kallithea_isapi.abort': RequestAbort;
  /** Every FastCGI param as received (latin1), for what the typed keys do not cover. */
  'kallithea_isapi.params': ReadonlyMap<string, string>;
  /** Why the bridge refuses this request (400), found while reading its headers. */
  'kallithea_isapi.invalid'?: string;
  /** The Kallithea worker that serves the request (w1, w2...), for the access log. */
  'kallithea_isapi.worker'?: string;
  /** The id of the error page the bridge answered with (error-pages), for the access log. */
  'kallithea_isapi.error_id'?: string;
  /** Monotonic start time in ms (performance.now()), for the access log. */
  'kallithea_isapi.started': number;
}

/** `X-Forwarded-User` -> `HTTP_X_FORWARDED_USER`. */
export function headerKey(name: string): HeaderKey {
  return `HTTP_${name.toUpperCase().replaceAll('-', '_')}`;
}

/**
 * Names already spelt out: the same few dozen headers come with every request. Bounded,
 * because clients choose header names.
 */
const headerNames = new Map<string, string>();
const HEADER_NAMES_KEPT = 1000;

/** `HTTP_X_FORWARDED_USER` -> `X-Forwarded-User` (HTTP names are case-insensitive). */
export function headerName(key: HeaderKey): string {
  let name = headerNames.get(key);
  if (name === undefined) {
    name = key
      .slice(5)
      .toLowerCase()
      .split('_')
      .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
      .join('-');
    if (headerNames.size < HEADER_NAMES_KEPT) headerNames.set(key, name);
  }
  return name;
}

/**
 * The HTTP_* keys present in an environ, in insertion order. A for-in over the plain
 * object rather than Object.keys().filter(): no array of every key per request.
 */
export function headerKeys(environ: Environ): HeaderKey[] {
  const keys: HeaderKey[] = [];
  for (const key in environ) {
    if (key.startsWith('HTTP_') && environ[key as HeaderKey] !== undefined) keys.push(key as HeaderKey);
  }
  return keys;
}
