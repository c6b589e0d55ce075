// Error pages for failures before the response started: 400 (a request the bridge will not
// forward), 502 (Kallithea unreachable or broke), 503 (busy or starting, with Retry-After),
// 504 (no response in time), 500 for anything else; a client that went away gets no page
// (499 in the access log). HTML for browsers, plain text for Mercurial and Git clients
// (which print the body to the user).
// The client never sees a stack trace or an internal message: those go to the log.
// Each page carries an error id, in its text and in X-Kallithea-Isapi-Error-Id (which Failed
// Request Tracing records with the response headers); the page's log line starts with the
// same id, and the access log line ends with error_id=<id>, so a user's screenshot, a FREB
// entry and the log lines can be matched.
import { randomBytes } from 'node:crypto';
import type { Environ } from '../../environ/environ.js';
import {
  BridgeError,
  ClientAbortedError,
  UpstreamBusyError,
  UpstreamStartingError,
  WorkersUnavailableError,
} from '../../errors.js';
import { hooked, type HookedMiddleware } from '../../pipeline/hooks.js';
import type { Body, ResponseHeaders, StartResponse } from '../../pipeline/types.js';
import { bodyOf } from '../../pipeline/types.js';

export interface ErrorPagesOptions {
  /** Receives one line per error, with the stack (default: stderr). */
  readonly log?: (line: string) => void;
}

interface Page {
  readonly title: string;
  readonly text: string;
}

const PAGES: Record<number, Page> = {
  400: { title: 'Bad Request', text: 'The request was malformed or its body incomplete.' },
  500: { title: 'Internal Server Error', text: 'The Kallithea bridge failed to handle this request.' },
  502: { title: 'Bad Gateway', text: 'Kallithea is not reachable. It may be stopped or restarting.' },
  503: { title: 'Service Unavailable', text: 'Kallithea is busy or starting. Please try again shortly.' },
  504: { title: 'Gateway Timeout', text: 'Kallithea did not answer in time.' },
};

/** hg sends `Accept: application/mercurial-0.1`; git and hg name themselves in User-Agent. */
export function isVcsClient(environ: Environ): boolean {
  const accept = environ.HTTP_ACCEPT ?? '';
  const agent = environ.HTTP_USER_AGENT ?? '';
  return /^\s*application\/mercurial/i.test(accept) || /^(git|mercurial)\//i.test(agent);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** A fresh error id: 12 hex digits, as the DLL's (native/isapi/request/error_page.cpp). */
export function newErrorId(): string {
  return randomBytes(6).toString('hex');
}

/**
 * Writes the error page for `status` (the start of the response and its body); with `id`,
 * the page names it.
 */
export function renderErrorPage(
  environ: Environ,
  startResponse: StartResponse,
  status: number,
  extraHeaders: ResponseHeaders = [],
  id?: string,
): Body {
  const page = PAGES[status] ?? (PAGES[500] as Page);
  const text = isVcsClient(environ);
  const idText = id === undefined ? '' : ` (error id ${id})`;
  const idHtml =
    id === undefined
      ? ''
      : `<p>kallithea-isapi, error id <code>${escapeHtml(id)}</code> (the bridge's log names it too)</p>`;
  const body = Buffer.from(
    text
      ? `${status} ${page.title}: ${page.text}${idText}\n`
      : `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${status} ${escapeHtml(page.title)}</title></head>` +
          `<body><h1>${status} ${escapeHtml(page.title)}</h1><p>${escapeHtml(page.text)}</p>${idHtml}</body></html>\n`,
  );
  startResponse(status, [
    ['Content-Type', text ? 'text/plain; charset=utf-8' : 'text/html; charset=utf-8'],
    ['Content-Length', String(body.length)],
    ['Cache-Control', 'no-store'],
    ...(id === undefined ? [] : ([['X-Kallithea-Isapi-Error-Id', id]] as ResponseHeaders)),
    ...extraHeaders,
  ]);
  return environ.REQUEST_METHOD === 'HEAD' ? bodyOf() : bodyOf(body);
}

/** The stack, and the cause's (the real failure behind a ForwarderError). */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const own = error.stack ?? `${error.name}: ${error.message}`;
  return error.cause === undefined ? own : `${own}\ncaused by: ${describe(error.cause)}`;
}

export function errorPages(options: ErrorPagesOptions = {}): HookedMiddleware {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  // Runs only while the response has not started (the layer checks): after that, a
  // failure cuts the body instead.
  return hooked({
    name: 'errorPages',
    error(error, environ, startResponse) {
      const target = environ['kallithea_isapi.raw_target'];
      if (error instanceof ClientAbortedError) {
        // Nobody reads a page now: the status is for the access log (499), the body empty.
        log(`${environ.REQUEST_METHOD} ${target}: ${error.message}`);
        startResponse(error.status ?? 499, []);
        return bodyOf();
      }
      const retryable =
        error instanceof UpstreamBusyError ||
        error instanceof UpstreamStartingError ||
        error instanceof WorkersUnavailableError;
      const id = newErrorId();
      environ['kallithea_isapi.error_id'] = id;
      if (retryable || (error instanceof BridgeError && error.status !== undefined && error.status < 500)) {
        // The client's fault, or a known state (busy, starting): the message is the whole
        // story, a stack would only be noise.
        log(`error page ${id}: ${environ.REQUEST_METHOD} ${target}: ${error.code}: ${error.message}`);
      } else {
        const code = error instanceof BridgeError ? error.code : 'ERR_INTERNAL';
        log(`error page ${id}: ${environ.REQUEST_METHOD} ${target}: ${code}: ${describe(error)}`);
      }
      const status = error instanceof BridgeError && error.status !== undefined ? error.status : 500;
      const extra: ResponseHeaders = retryable ? [['Retry-After', String(error.retryAfter)]] : [];
      return renderErrorPage(environ, startResponse, status, extra, id);
    },
  });
}
