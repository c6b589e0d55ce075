// One access log line per request, written when the body has been sent (or failed):
//   2025-01-01T12:00:00.000Z 10.0.0.5 alice "GET /kallithea/repo?cmd=capabilities" 200 1234 12ms
// followed by ` aborted` or ` error=<code>` when the response did not complete.
// The target is the raw one (as the client sent it), the user the IIS user (`-` if none).
import { performance } from 'node:perf_hooks';
import type { Environ } from '../../environ/environ.js';
import { BridgeError } from '../../errors.js';
import type { Body, Middleware } from '../../pipeline/types.js';

export interface AccessLogOptions {
  readonly write: (line: string) => void;
}

/** Quotes a field the way log parsers expect: no raw quotes, control bytes or spaces in odd places. */
function clean(text: string): string {
  // eslint-disable-next-line no-control-regex -- control bytes are what is being escaped
  return text.replace(/["\\\x00-\x1f\x7f]/g, (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`);
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
  const tail = outcome === '' ? '' : ` ${outcome}`;
  return (
    `${new Date().toISOString()} ${environ.REMOTE_ADDR || '-'} ${clean(user).replaceAll(' ', '_')} ` +
    `"${clean(request)}" ${status} ${bytes} ${Math.round(ms)}ms${tail}`
  );
}

export function accessLog(options: AccessLogOptions): Middleware {
  return async function accessLog(environ, startResponse, next) {
    let status = 0;
    const started = environ['kallithea_isapi.started'] ?? performance.now();
    const finish = (bytes: number, outcome: string): void =>
      options.write(formatAccessLine(environ, status, bytes, performance.now() - started, outcome));
    let body: Body;
    try {
      body = await next(environ, (code, headers, reason) => {
        status = code;
        startResponse(code, headers, reason);
      });
    } catch (error) {
      finish(0, `error=${error instanceof BridgeError ? error.code : 'ERR_INTERNAL'}`);
      throw error;
    }
    return counted(body, environ, finish);
  };
}

async function* counted(
  body: Body,
  environ: Environ,
  finish: (bytes: number, outcome: string) => void,
): AsyncIterable<Uint8Array> {
  let bytes = 0;
  let outcome = 'aborted';
  try {
    for await (const chunk of body as AsyncIterable<Uint8Array>) {
      bytes += chunk.byteLength;
      yield chunk;
    }
    outcome = '';
  } catch (error) {
    outcome = environ['kallithea_isapi.signal'].aborted
      ? 'aborted'
      : `error=${error instanceof BridgeError ? error.code : 'ERR_INTERNAL'}`;
    throw error;
  } finally {
    finish(bytes, outcome);
  }
}
