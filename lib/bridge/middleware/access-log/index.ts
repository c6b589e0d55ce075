// One access log line per request, written when the body has been sent (or failed):
//   2025-01-01T12:00:00.000Z 10.0.0.5 alice "GET /kallithea/repo?cmd=capabilities" 200 1234 12ms
// followed by ` worker=w1` when one of the bridge's Kallithea workers served it,
// ` error_id=<id>` when the bridge answered with an error page, and
// ` aborted` or ` error=<code>` when the response did not complete. A client that
// went away before the response started is logged with 499 (nginx's "client closed request").
// The target is the raw one (as the client sent it), the user the IIS user (`-` if none).
import { performance } from 'node:perf_hooks';
import type { Environ } from '../../environ/environ.js';
import { BridgeError, ClientAbortedError } from '../../errors.js';
import { hooked, type HookedMiddleware } from '../../pipeline/hooks.js';

export interface AccessLogOptions {
  readonly write: (line: string) => void;
  /** Told of each request's start and end (with the status logged), for the status page. */
  readonly tally?: { started(): void; finished(status: number): void };
}

// What the fields below escape. Each is tested for first: almost every field is clean, and
// a replace() with a function runs in the engine's slow path even when nothing matches
// (~170 ns per request for the two fields).
// eslint-disable-next-line no-control-regex -- control bytes are what is being escaped
const QUOTED_ESCAPES = /["\\\x00-\x1f\x7f]/;
const QUOTED_ESCAPES_ALL = new RegExp(QUOTED_ESCAPES.source, 'g');
// eslint-disable-next-line no-control-regex -- control bytes are what is being escaped
const USER_ESCAPES = /["\x00-\x1f\x7f]/g;
/** What cleanUser changes: USER_ESCAPES and the space. */
// eslint-disable-next-line no-control-regex -- control bytes are what is being escaped
const USER_CHANGES = /["\x00-\x1f\x7f ]/;

/** `\xNN` for a character a log line must not hold raw. */
function hexEscape(ch: string): string {
  return `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`;
}

/**
 * The quoted request field: control bytes, quotes and backslashes escaped, so a target
 * can neither end the field nor the line, and every `\xNN` in the log is an escape.
 */
function cleanQuoted(text: string): string {
  return QUOTED_ESCAPES.test(text) ? text.replace(QUOTED_ESCAPES_ALL, hexEscape) : text;
}

/**
 * The user field, unquoted: readable as IIS gives it (`CORP\alice`, so backslashes stay),
 * spaces as `_` so the field stays one word, and control bytes and quotes escaped so a
 * user name cannot forge a line or a field (log injection).
 */
function cleanUser(text: string): string {
  if (!USER_CHANGES.test(text)) return text;
  return text.replace(USER_ESCAPES, hexEscape).replaceAll(' ', '_');
}

/** The ISO time, formatted once per millisecond however many lines share it. */
let lastMs = NaN;
let lastTime = '';
function isoNow(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastTime = new Date(now).toISOString();
  }
  return lastTime;
}

export function formatAccessLine(
  environ: Environ,
  status: number,
  bytes: number,
  ms: number,
  outcome: string,
): string {
  const user = environ.REMOTE_USER || environ.AUTH_USER || '-';
  const request = `${environ.REQUEST_METHOD} ${environ['kallithea_isapi.raw_target']}`;
  const worker = environ['kallithea_isapi.worker'];
  const errorId = environ['kallithea_isapi.error_id'];
  const tail =
    (worker === undefined ? '' : ` worker=${worker}`) +
    (errorId === undefined ? '' : ` error_id=${errorId}`) +
    (outcome === '' ? '' : ` ${outcome}`);
  return (
    `${isoNow()} ${environ.REMOTE_ADDR || '-'} ${cleanUser(user)} ` +
    `"${cleanQuoted(request)}" ${status} ${bytes} ${Math.round(ms)}ms${tail}`
  );
}

export function accessLog(options: AccessLogOptions): HookedMiddleware {
  return hooked({
    name: 'accessLog',
    request() {
      options.tally?.started();
    },
    end(environ, response, error) {
      let status = response.status;
      if (status === 0) {
        // Nothing was sent: the status is what the failure means (499: the client went away).
        if (error instanceof BridgeError) status = error.status ?? 500;
        else status = environ['kallithea_isapi.abort'].aborted ? 499 : 500;
      }
      const outcome =
        error === undefined
          ? ''
          : response.status !== 0 &&
              (error instanceof ClientAbortedError || environ['kallithea_isapi.abort'].aborted)
            ? 'aborted'
            : `error=${error instanceof BridgeError ? error.code : 'ERR_INTERNAL'}`;
      const ms = performance.now() - environ['kallithea_isapi.started'];
      options.tally?.finished(status);
      options.write(formatAccessLine(environ, status, response.bytes, ms, outcome));
    },
  });
}
