// The bridge's one header policy, both ways, each applied in the single pass that already
// turns one form of headers into the other:
//
//   request:  ALL_RAW or HTTP_* params -> the environ's HTTP_* keys (buildEnviron); the
//             forwarder sends the environ's headers as they are, and iis-user / forwarded add
//             the headers the bridge asserts after this pass cleared every client copy.
//   response: the App's headers -> the CGI header block (response-writer.ts), whatever App
//             made them (the forwarder, error pages).
//
// Dropped from requests: hop-by-hop headers (RFC 9110 7.6.1: Connection and the names it
// lists, Keep-Alive, TE, Trailer, Transfer-Encoding, Upgrade) and Proxy-* (Proxy-Authorization
// is for a proxy; `Proxy` would become HTTP_PROXY, httpoxy); Expect (the web server answered
// any 100-continue); the headers the bridge asserts (the user header, X-Forwarded-*,
// Forwarded, X-Real-IP, X-Url-Scheme); IDENTITY_HEADERS below; from ALL_RAW, any name with
// `_`, which would fold into the same WSGI key as its `-` twin (nginx and waitress drop them
// too). Names are compared folded (upper case, `-` as `_`), so no spelling slips through.
// Refused (400): a repeat of a header that must be single (Host, Content-Length,
// Authorization): forwarding one copy or a comma-joined pair lets two parties disagree.
//
// Dropped from responses: the hop-by-hop headers and Proxy-* (the web server frames the
// response itself) and `Status`, which in a CGI block is the status: only the real one goes
// first in the block, so an upstream `Status` header cannot replace it. Location passes.
import { CgiHeaderError } from '../errors.js';
import { headerKey, type HeaderKey } from '../environ/environ.js';

export const DEFAULT_USER_HEADER = 'X-Forwarded-User';

/**
 * Headers that carry "the authenticated user" (or their groups and mail) in common proxies
 * and identity gateways: a proxy in front of an application is expected to drop every client
 * copy, because an application set up to trust one of them would believe the client.
 * Kallithea's container plugin reads a configurable header, so all of them go.
 *   Remote-User, Remote-Groups, Remote-Name, Remote-Email: Authelia, Authentik (all Remote-*)
 *   X-Remote-User, X-Remote-Login, X-Remote-Group: Apache mod_auth* recipes, Jenkins
 *   X-Forwarded-User/-Email/-Groups/-Preferred-Username: oauth2-proxy (all X-Forwarded-*)
 *   X-Auth-Request-*: oauth2-proxy's auth_request mode
 *   X-Authenticated-User, X-Authenticated-Userid, X-Authenticated-Email: Kong, Pomerium
 *   X-Auth-User, Auth-User, X-User, X-Username, X-Proxy-User: generic reverse-proxy recipes
 *   X-WEBAUTH-*: Gitea, Grafana, Forgejo auth proxy
 *   X-Ms-Client-Principal*: Azure App Service authentication
 *   X-Goog-Authenticated-User-*: Google IAP; X-Amzn-Oidc-*: AWS ALB
 *   Cf-Access-Authenticated-User-Email: Cloudflare Access
 */
const IDENTITY_HEADERS = [
  'X-Remote-User',
  'X-Remote-Login',
  'X-Remote-Group',
  'X-Authenticated-User',
  'X-Authenticated-Userid',
  'X-Authenticated-Email',
  'X-Auth-User',
  'Auth-User',
  'X-User',
  'X-Username',
  'X-Proxy-User',
  'Cf-Access-Authenticated-User-Email',
];

/** Folded prefixes dropped whatever follows them. */
const DROPPED_PREFIXES = [
  'HTTP_X_FORWARDED_',
  'HTTP_PROXY_',
  'HTTP_REMOTE_',
  'HTTP_X_AUTH_REQUEST_',
  'HTTP_X_WEBAUTH_',
  'HTTP_X_MS_CLIENT_PRINCIPAL',
  'HTTP_X_GOOG_AUTHENTICATED_',
  'HTTP_X_AMZN_OIDC_',
  // The bridge's own word to its Kallithea workers (X-Kallithea-Isapi: workers/hop-claim.ts).
  'HTTP_X_KALLITHEA_ISAPI',
];

const HOP_BY_HOP = ['Connection', 'Keep-Alive', 'TE', 'Trailer', 'Transfer-Encoding', 'Upgrade', 'Proxy'];

/** The bridge asserts these itself (iis-user, forwarded). */
const PROXY_CLAIMS = ['Forwarded', 'X-Real-IP', 'X-Url-Scheme'];

/** Headers that must come once (a repeat is refused), each with its bit in a `seen` mask. */
const SINGLE: ReadonlyMap<string, number> = new Map([
  ['HTTP_HOST', 1],
  ['HTTP_CONTENT_LENGTH', 2],
  ['HTTP_AUTHORIZATION', 4],
]);

/** WSGI keeps these under CGI names (PEP 3333); the framing comes from CONTENT_LENGTH. */
const CGI_NAMED: ReadonlySet<string> = new Set(['HTTP_CONTENT_LENGTH', 'HTTP_CONTENT_TYPE']);

/** RFC 9110 token; anything else is not a header name we pass on. */
const TOKEN = /^[!#$%&'*+.^`|~0-9A-Za-z-]+$/;
const PARAM_HEADER = /^HTTP_[A-Z0-9_]+$/;

export interface HeaderPolicyOptions {
  /** The header iis-user asserts (default X-Forwarded-User). */
  readonly userHeader?: string;
  /** More header names to drop from requests. */
  readonly extra?: readonly string[];
}

export interface RequestHeaders {
  readonly headers: Map<HeaderKey, string>;
  /** From ALL_RAW only: the client's Content-Type, used when CONTENT_TYPE is absent. */
  readonly contentType?: string;
  /** Why the request must be refused with 400; absent when it may go on. */
  readonly invalid?: string;
}

/**
 * Verdicts kept per policy: the same few dozen header names come with every request, so
 * each is judged once. Bounded, because clients choose header names.
 */
const VERDICTS_KEPT = 1000;

export class HeaderPolicy {
  readonly #dropped: ReadonlySet<string>;
  /** Folded key -> whether it reaches the environ (not CGI-named, not dropped). */
  readonly #keeps = new Map<string, boolean>();
  /** Param name -> whether it is a request header that reaches the environ. */
  readonly #keepsParam = new Map<string, boolean>();

  constructor(options: HeaderPolicyOptions = {}) {
    const names = [
      ...HOP_BY_HOP,
      'Expect',
      ...PROXY_CLAIMS,
      ...IDENTITY_HEADERS,
      options.userHeader ?? DEFAULT_USER_HEADER,
      ...(options.extra ?? []),
    ];
    this.#dropped = new Set(names.map(headerKey));
  }

  /** Whether a folded HTTP_* key reaches the environ: the one drop set, judged once per key. */
  #kept(key: HeaderKey): boolean {
    let kept = this.#keeps.get(key);
    if (kept === undefined) {
      kept = !CGI_NAMED.has(key) && !this.dropsRequestHeader(key);
      if (this.#keeps.size < VERDICTS_KEPT) this.#keeps.set(key, kept);
    }
    return kept;
  }

  /** Whether a FastCGI param is a request header that reaches the environ; judged once per name. */
  #keptParam(name: string): boolean {
    let kept = this.#keepsParam.get(name);
    if (kept === undefined) {
      kept = name.startsWith('HTTP_') && PARAM_HEADER.test(name) && this.#kept(name as HeaderKey);
      if (this.#keepsParam.size < VERDICTS_KEPT) this.#keepsParam.set(name, kept);
    }
    return kept;
  }

  /** Whether a request header (as a folded HTTP_* key) stays out of the environ. */
  dropsRequestHeader(key: string): boolean {
    if (this.#dropped.has(key)) return true;
    for (const prefix of DROPPED_PREFIXES) if (key.startsWith(prefix)) return true;
    return false;
  }

  /**
   * ALL_RAW (IIS: the headers as the client sent them): `Name: value` lines separated by CRLF
   * or LF (IIS documents both). Repeats are joined with `, ` (Cookie with `; `), as WSGI does;
   * obsolete line folding (a line starting with space or tab) continues the previous value.
   */
  fromAllRaw(allRaw: string): RequestHeaders {
    const headers = new Map<HeaderKey, string>();
    let contentType: string | undefined;
    let connection: string | undefined;
    let invalid: string | undefined;
    let last: HeaderKey | undefined;
    let seen = 0;
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
      if (!TOKEN.test(name)) continue;
      const value = line.slice(colon + 1).trim();
      const key = foldedKey(name);
      const single = SINGLE.get(key);
      if (single !== undefined) {
        if ((seen & single) !== 0) invalid ??= `repeated ${name} header`;
        seen |= single;
      }
      if (key === 'HTTP_CONTENT_TYPE') contentType = value;
      if (key === 'HTTP_CONNECTION') connection = connection === undefined ? value : `${connection},${value}`;
      if (!this.#kept(key)) continue;
      const previous = headers.get(key);
      headers.set(
        key,
        previous === undefined ? value : `${previous}${key === 'HTTP_COOKIE' ? '; ' : ', '}${value}`,
      );
      last = key;
    }
    if (connection !== undefined) dropListed(headers, connection);
    if (contentType === undefined && invalid === undefined) return { headers };
    return {
      headers,
      ...(contentType === undefined ? {} : { contentType }),
      ...(invalid === undefined ? {} : { invalid }),
    };
  }

  /**
   * HTTP_* params (nginx, cgi-fcgi, a web server without ALL_RAW). The web server already
   * joined and upper-cased them; whether the client spelt a name with `_` cannot be told
   * here (nginx drops such names unless `underscores_in_headers on`), which is why every
   * asserted or identity header is dropped whatever its spelling.
   */
  fromParams(params: ReadonlyMap<string, string>, fromIis: boolean): RequestHeaders {
    const headers = new Map<HeaderKey, string>();
    for (const [name, value] of params) {
      // HTTP_URL is an IIS server variable, not a header.
      if (!this.#keptParam(name) || (fromIis && name === 'HTTP_URL')) continue;
      headers.set(name as HeaderKey, value);
    }
    const connection = params.get('HTTP_CONNECTION');
    if (connection !== undefined) dropListed(headers, connection);
    return { headers };
  }
}

/** Header name as sent -> its folded key; bounded like the verdicts. */
const foldedKeys = new Map<string, HeaderKey>();

function foldedKey(name: string): HeaderKey {
  let key = foldedKeys.get(name);
  if (key === undefined) {
    key = headerKey(name);
    if (foldedKeys.size < VERDICTS_KEPT) foldedKeys.set(name, key);
  }
  return key;
}

/** The names a Connection header lists are hop-by-hop too. */
function dropListed(headers: Map<HeaderKey, string>, connection: string): void {
  for (const token of connection.split(',')) {
    const name = token.trim();
    if (name !== '') headers.delete(headerKey(name));
  }
}

export const defaultHeaderPolicy = new HeaderPolicy();

// --- Responses: the App's headers -> the CGI header block ---

const RESPONSE_DROPPED: ReadonlySet<string> = new Set([
  ...HOP_BY_HOP.map((name) => name.toLowerCase()),
  'status',
]);

/** Connection tokens that name nothing beyond the fixed set (the common case). */
const PLAIN_CONNECTION = /^\s*(close|keep-alive)?\s*$/i;

const BAD_VALUE = /[\r\n\0]/;
/** Response names may hold `_` (the web server parses the block, no WSGI folding here). */
const RESPONSE_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** What happens to a response header, by its name: sent, dropped, or a Connection header. */
type ResponseVerdict = 'keep' | 'drop' | 'connection';

/**
 * Name as sent -> its verdict, bounded like the request side's: the same few names come
 * with every response, so each is checked, lower-cased and looked up once.
 */
const responseVerdicts = new Map<string, ResponseVerdict>();

/** Throws CgiHeaderError for a name that is not a token. */
function responseVerdict(name: string): ResponseVerdict {
  let verdict = responseVerdicts.get(name);
  if (verdict === undefined) {
    if (!RESPONSE_TOKEN.test(name)) throw new CgiHeaderError(`header name ${JSON.stringify(name)}`);
    const lower = name.toLowerCase();
    if (lower === 'connection') verdict = 'connection';
    else verdict = RESPONSE_DROPPED.has(lower) || lower.startsWith('proxy-') ? 'drop' : 'keep';
    if (responseVerdicts.size < VERDICTS_KEPT) responseVerdicts.set(name, verdict);
  }
  return verdict;
}

/**
 * The response headers as CGI block lines (`Name: value\r\n` each), without the policy's
 * drops. One pass; a Connection header that lists other names (rare) costs a second one.
 * Throws CgiHeaderError for a name that is not a token or a value with CR, LF or NUL.
 */
export function cgiHeaderLines(headers: ReadonlyArray<readonly [name: string, value: string]>): string {
  let lines = '';
  let listed: Set<string> | undefined;
  for (const [name, value] of headers) {
    const verdict = responseVerdict(name);
    if (BAD_VALUE.test(value)) throw new CgiHeaderError(`the value of ${name} holds CR, LF or NUL`);
    if (verdict === 'keep') {
      lines += `${name}: ${value}\r\n`;
    } else if (verdict === 'connection' && !PLAIN_CONNECTION.test(value)) {
      listed ??= new Set();
      for (const token of value.split(',')) listed.add(token.trim().toLowerCase());
    }
  }
  if (listed === undefined) return lines;
  const named = listed;
  named.add('connection');
  return cgiHeaderLines(headers.filter(([name]) => !named.has(name.toLowerCase())));
}
