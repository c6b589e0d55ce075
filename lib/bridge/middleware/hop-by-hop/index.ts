// Hop-by-hop headers (RFC 9110 section 7.6.1) belong to one connection and are removed both
// ways: from the request before it goes to Kallithea, from the response before it goes back
// to the web server (which frames the response itself). Proxy-* goes too: Proxy-Authorization
// is for a proxy, and a `Proxy` request header becomes HTTP_PROXY (httpoxy).
import { headerKey, headerKeys, type HeaderKey } from '../../environ/environ.js';
import type { Middleware, ResponseHeaders } from '../../pipeline/types.js';

const HOP_BY_HOP = ['Connection', 'Keep-Alive', 'TE', 'Trailer', 'Transfer-Encoding', 'Upgrade'];

function isProxyHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return lower === 'proxy' || lower.startsWith('proxy-');
}

/** Lower-case names listed in a Connection header value. */
function connectionTokens(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value
    .split(',')
    .map((token) => token.trim().toLowerCase())
    .filter((token) => token !== '');
}

const HOP_BY_HOP_LOWER: ReadonlySet<string> = new Set(HOP_BY_HOP.map((name) => name.toLowerCase()));

export function removeHopByHopResponseHeaders(headers: ResponseHeaders): ResponseHeaders {
  // Per response: a copy of the set only when a Connection header names more.
  let named = HOP_BY_HOP_LOWER;
  for (const [name, value] of headers) {
    if (name.toLowerCase() !== 'connection') continue;
    const more = new Set(named);
    for (const token of connectionTokens(value)) more.add(token);
    named = more;
  }
  return headers.filter(([name]) => !named.has(name.toLowerCase()) && !isProxyHeader(name));
}

export function hopByHop(): Middleware {
  const requestKeys: ReadonlySet<string> = new Set<string>(HOP_BY_HOP.map(headerKey));
  return function hopByHop(environ, startResponse, next) {
    let named = requestKeys;
    const listed = connectionTokens(environ.HTTP_CONNECTION);
    if (listed.length > 0) named = new Set([...requestKeys, ...listed.map(headerKey)]);
    for (const key of headerKeys(environ)) {
      if (named.has(key) || key === 'HTTP_PROXY' || key.startsWith('HTTP_PROXY_'))
        delete environ[key as HeaderKey];
    }
    return next(environ, (status, headers, reason) =>
      startResponse(status, removeHopByHopResponseHeaders(headers), reason),
    );
  };
}
