// The request target and SCRIPT_NAME/PATH_INFO.
//
// Under an IIS wildcard script map SCRIPT_NAME and PATH_INFO are both the whole URL, and
// IIS's URL/PATH_INFO are decoded into the ANSI code page (non-ASCII becomes `?`, `%2F`
// becomes `/`). So, as isapi-wsgi does, the split comes from APPL_MD_PATH (the application's
// virtual path after `/ROOT`, in its configured case) matched case-insensitively against the
// raw URL (UNENCODED_URL, else HTTP_URL), which is then decoded as UTF-8 here.

export interface RequestPaths {
  /** Path and query exactly as sent (latin1 string, one character per byte). */
  readonly rawTarget: string;
  readonly scriptName: string;
  readonly pathInfo: string;
  readonly queryString: string;
}

/**
 * IIS custom-error (httpErrors / 404 handler) requests carry the original URL after the
 * status: `/kallithea/kallithea_isapi.dll?404;http://host:80/kallithea/repo?x=1`.
 */
const ERROR_HANDLER_FORM = /^[^?]*\?\d{3};(?:[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*)?(\/.*)?$/;

/** Unwraps the error-handler form; returns an origin-form target as is. */
export function unwrapErrorHandlerTarget(target: string): string {
  const match = ERROR_HANDLER_FORM.exec(target);
  if (match === null) return target;
  return match[1] ?? '/';
}

/** The application's virtual path from APPL_MD_PATH: `/LM/W3SVC/1/ROOT/kallithea` -> `/kallithea`. */
export function applicationPath(applMdPath: string): string {
  const match = /\/ROOT(\/.*)?$/i.exec(applMdPath);
  if (match === null) return '';
  return (match[1] ?? '').replace(/\/+$/, '');
}

/** One decoder for every path: fatal, so bytes that are not UTF-8 are read as latin1 instead. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });
const PERCENT = /%([0-9A-Fa-f]{2})/g;

/**
 * Percent-decodes a latin1 (byte) string and reads the bytes as UTF-8; bytes that are not
 * valid UTF-8 are read as latin1 instead, so nothing is lost or replaced by U+FFFD.
 */
export function decodePath(raw: string): string {
  const text = raw.includes('%')
    ? raw.replace(PERCENT, (_all, hex: string) => String.fromCharCode(parseInt(hex, 16)))
    : raw;
  // Plain ASCII (most paths) reads the same as UTF-8: no bytes to decode.
  if (ASCII.test(text)) return text;
  const bytes = Buffer.from(text, 'latin1');
  try {
    return UTF8.decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}

// eslint-disable-next-line no-control-regex -- the whole ASCII range, controls included
const ASCII = /^[\x00-\x7f]*$/;

function splitQuery(target: string): [path: string, query: string] {
  const mark = target.indexOf('?');
  return mark < 0 ? [target, ''] : [target.slice(0, mark), target.slice(mark + 1)];
}

/** The raw target an IIS request came with: UNENCODED_URL, else HTTP_URL, else URL + query. */
function iisRawTarget(params: ReadonlyMap<string, string>): string {
  for (const name of ['UNENCODED_URL', 'HTTP_URL']) {
    const value = params.get(name);
    if (value !== undefined && value !== '') return unwrapErrorHandlerTarget(value);
  }
  const path = params.get('URL') || params.get('PATH_INFO') || '/';
  const query = params.get('QUERY_STRING') ?? '';
  return query === '' ? path : `${path}?${query}`;
}

/** Paths for a request from IIS (APPL_MD_PATH present). */
export function iisPaths(params: ReadonlyMap<string, string>): RequestPaths {
  const rawTarget = iisRawTarget(params);
  const [rawPath, queryString] = splitQuery(rawTarget);
  const decoded = decodePath(rawPath);
  const application = decodePath(applicationPath(params.get('APPL_MD_PATH') ?? ''));
  const head = decoded.slice(0, application.length);
  const rest = decoded.slice(application.length);
  if (head.toLowerCase() === application.toLowerCase() && (rest === '' || rest.startsWith('/'))) {
    // SCRIPT_NAME keeps the URL's case: the client's links below it are built from it.
    return { rawTarget, scriptName: head, pathInfo: rest, queryString };
  }
  // The URL is not below the application (should not happen under a wildcard map): give
  // the whole path as PATH_INFO rather than guess a split.
  return { rawTarget, scriptName: '', pathInfo: decoded, queryString };
}

/** Paths for a request from nginx, cgi-fcgi or another CGI-style web server: as given. */
export function cgiPaths(params: ReadonlyMap<string, string>): RequestPaths {
  const queryString = params.get('QUERY_STRING') ?? '';
  const scriptName = decodeBytes(params.get('SCRIPT_NAME') ?? '');
  const pathInfo = decodeBytes(params.get('PATH_INFO') ?? '');
  let rawTarget = params.get('REQUEST_URI') ?? '';
  if (rawTarget === '') {
    const path = encodePath(Buffer.from(`${scriptName}${pathInfo}`, 'utf8').toString('latin1')) || '/';
    rawTarget = queryString === '' ? path : `${path}?${queryString}`;
  }
  return { rawTarget, scriptName, pathInfo, queryString };
}

/** A param value (latin1 bytes, already decoded by the web server) read as UTF-8. */
function decodeBytes(value: string): string {
  return decodePath(value.replaceAll('%', '%25'));
}

/** Percent-encodes the bytes of a latin1 string that may not appear raw in a path. */
export function encodePath(bytes: string): string {
  return bytes.replace(
    /[^\x21-\x7e]|[%?#]/g,
    (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
  );
}
