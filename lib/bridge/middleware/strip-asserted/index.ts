// Removes every client-sent copy of a header the bridge asserts, before the bridge adds its
// own: the user header and the proxy headers Kallithea (and PasteDeploy's prefix filter)
// may trust for the client address, scheme and host. Environ keys already fold case and
// `-`/`_` together (HTTP_X_FORWARDED_USER), and ALL_RAW names with `_` never get this far;
// the comparison below folds them again so no other spelling can slip through.
import { headerKey, headerKeys, type HeaderKey } from '../../environ/environ.js';
import type { Middleware } from '../../pipeline/types.js';
import { DEFAULT_USER_HEADER } from '../iis-user/index.js';

export interface StripAssertedOptions {
  /** The header iis-user asserts (default X-Forwarded-User). */
  readonly userHeader?: string;
  /** More header names to strip. */
  readonly extra?: readonly string[];
}

/** Every X-Forwarded-* header, whatever follows the prefix. */
const FORWARDED_PREFIX = 'HTTP_X_FORWARDED_';

/** Other spellings of the same claims that Kallithea 0.6 or the prefix filter read. */
const PROXY_CLAIMS = ['Forwarded', 'X-Real-IP', 'X-Url-Scheme'];

function fold(key: string): string {
  return key.toUpperCase().replaceAll('-', '_');
}

export function stripAsserted(options: StripAssertedOptions = {}): Middleware {
  const names = [options.userHeader ?? DEFAULT_USER_HEADER, ...PROXY_CLAIMS, ...(options.extra ?? [])];
  const asserted = new Set<string>(names.map((name) => fold(headerKey(name))));
  return function stripAsserted(environ, _startResponse, next) {
    for (const key of headerKeys(environ)) {
      const folded = fold(key);
      if (asserted.has(folded) || folded.startsWith(FORWARDED_PREFIX)) delete environ[key as HeaderKey];
    }
    return next();
  };
}
