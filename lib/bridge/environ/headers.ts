// Request headers for the environ, from IIS's ALL_RAW (the headers as the client sent
// them) or else from the HTTP_* params (nginx, cgi-fcgi, or a web server without ALL_RAW).
import { headerKey, type HeaderKey } from './environ.js';

/** Header names as RFC 9110 tokens; anything else is not a header we pass on. */
const TOKEN = /^[!#$%&'*+.^`|~0-9A-Za-z-]+$/;

/**
 * Headers WSGI keeps under their CGI names rather than HTTP_* (PEP 3333); the body framing
 * comes from CONTENT_LENGTH, not from a client header.
 */
const CGI_NAMED = new Set(['HTTP_CONTENT_LENGTH', 'HTTP_CONTENT_TYPE']);

export interface ParsedHeaders {
  readonly headers: Map<HeaderKey, string>;
  /** From ALL_RAW only: the client's Content-Type, used when CONTENT_TYPE is absent. */
  readonly contentType?: string;
}

/**
 * Parses ALL_RAW: `Name: value` lines separated by CRLF or LF (IIS documents both).
 * A name containing `_` is dropped, as nginx and waitress drop it: otherwise
 * `X_Forwarded_User` would become HTTP_X_FORWARDED_USER, indistinguishable from the header
 * the bridge asserts. Repeated headers are joined with `, ` (Cookie with `; `), as WSGI does.
 * Obsolete line folding (a line starting with space or tab) continues the previous value.
 */
export function parseAllRaw(allRaw: string): ParsedHeaders {
  const headers = new Map<HeaderKey, string>();
  let contentType: string | undefined;
  let last: HeaderKey | undefined;
  for (const line of allRaw.split(/\r?\n/)) {
    if (line === '') continue;
    if ((line.startsWith(' ') || line.startsWith('\t')) && last !== undefined) {
      headers.set(last, `${headers.get(last) ?? ''} ${line.trim()}`);
      continue;
    }
    last = undefined;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    if (!TOKEN.test(name) || name.includes('_')) continue;
    const value = line.slice(colon + 1).trim();
    const key = headerKey(name);
    if (key === 'HTTP_CONTENT_TYPE') contentType = value;
    if (CGI_NAMED.has(key)) continue;
    const previous = headers.get(key);
    headers.set(
      key,
      previous === undefined ? value : `${previous}${key === 'HTTP_COOKIE' ? '; ' : ', '}${value}`,
    );
    last = key;
  }
  return contentType === undefined ? { headers } : { headers, contentType };
}

/**
 * Headers from HTTP_* params. The web server already joined and upper-cased them; whether
 * the client spelt a name with `_` cannot be told here (nginx drops such headers unless
 * `underscores_in_headers on`), so the strip-asserted middleware removes every copy of an
 * asserted header whatever its origin.
 */
export function headersFromParams(params: ReadonlyMap<string, string>): ParsedHeaders {
  const headers = new Map<HeaderKey, string>();
  for (const [name, value] of params) {
    if (!name.startsWith('HTTP_') || CGI_NAMED.has(name)) continue;
    if (!/^HTTP_[A-Z0-9_]+$/.test(name)) continue;
    headers.set(name as HeaderKey, value);
  }
  return { headers };
}
