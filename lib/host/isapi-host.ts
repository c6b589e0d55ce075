// IsapiHost: an IIS stand-in. Loads an ISAPI extension through the isapi_host addon and
// serves Node http/https requests through it: `server.on('request', (q, s) => host.handle(q, s))`,
// with `acceptRawTargets(server)` for raw bytes >= 0x80 in request-targets, as http.sys takes them.
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TLSSocket } from 'node:tls';
import { Authenticator } from './auth.js';
import {
  beginRequest,
  loadBinding,
  NativeEventKind,
  type NativeEventHandler,
  type NativeIsapiHost,
  type NativeRequestInfo,
} from './binding.js';
import { HostedRequest, type RequestRecord } from './hosted-request.js';
import { checkOptions, type CheckedOptions, type IsapiHostOptions } from './options.js';
import { rawTarget } from './raw-targets.js';
import { tlsFacts } from './tls-facts.js';

export type { IsapiHostOptions } from './options.js';
export { acceptRawTargets } from './raw-targets.js';

/** A contract breach the verifier caught. */
export interface Violation {
  rule: string;
  message: string;
  method: string;
  url: string;
}

// After a burst of at least BURST_REQUESTS requests, how long the host waits without one
// before it gives memory back (a trickle of requests never triggers it).
const BURST_REQUESTS = 1000;
const IDLE_RELEASE_MS = 1000;

// The access log's lines go out at most this long after their request finished (and at
// close): one write per loop turn, a synchronous write to a pipe or file, cost the host
// ~3 % of its CPU under load.
const LOG_FLUSH_MS = 100;

export class IsapiHost extends EventEmitter {
  readonly #options: CheckedOptions;
  readonly #native: NativeIsapiHost;
  readonly #auth: Authenticator;
  readonly #requests = new Map<number, HostedRequest>();
  readonly #violations: Violation[] = [];
  readonly #handlerErrors: Error[] = [];
  #logBatch: RequestRecord[] = [];
  #logTimer: NodeJS.Timeout | undefined;
  #wakeArmed = false;
  /** Requests begun so far, at the last memory release, and when the idle timer was armed. */
  #begun = 0;
  #begunAtRelease = 0;
  #begunAtIdle = 0;
  #idleTimer: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;
  #resolveClosed: (() => void) | undefined;

  constructor(options: IsapiHostOptions) {
    super();
    this.#options = checkOptions(options);
    this.#auth = new Authenticator(this.#options.auth);
    const { NativeIsapiHost } = loadBinding();
    this.#native = new NativeIsapiHost(this.#options, this.#onEvent);
  }

  /** GetExtensionVersion's answer. */
  get extension(): { version: number; description: string } {
    const info = this.#native.extension();
    return { version: info.version ?? 0, description: info.description ?? '' };
  }

  /** Requests the extension has not finished yet (native count). */
  get liveRequests(): number {
    return this.#native.liveRequests();
  }

  /** Threads the host's two pools have started (they grow while extensions block them). */
  get poolThreads(): number {
    return this.#native.poolThreads();
  }

  /** JS-side requests (req, res, socket) waiting for their native `finished` event. */
  get heldRequests(): number {
    return this.#requests.size;
  }

  /** Errors the event handler caught (it never lets one reach native code). */
  handlerErrors(): Error[] {
    return [...this.#handlerErrors];
  }

  /** Every violation caught so far (verifier mode). */
  violations(): Violation[] {
    return [...this.#violations];
  }

  /** The request handler for a Node http/https server. */
  handle(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    // The target as sent: raw bytes >= 0x80 and all (acceptRawTargets), as http.sys passes it.
    const target = rawTarget(req);
    if (this.#closing !== undefined) {
      respond(res, 503, 'The host is shutting down.');
      return;
    }
    // On the path as http.sys canonicalises it, the one the extension will see: a raw
    // /kallithea/../other/x is /other/x, outside. Nothing is outside the site's root.
    if (this.#options.virtualDir !== '/' && !this.#native.insideVirtualDir(target)) {
      respond(res, 404, 'Not found: outside the virtual directory.');
      return;
    }
    const decision = this.#auth.authenticate(req);
    if (!decision.ok) {
      respond(res, 401, 'Unauthorized.', { 'WWW-Authenticate': decision.challenge });
      return;
    }
    const info = requestInfo(req, target, decision.result.authType, decision.result.authUser);
    const id = beginRequest(this.#native, info);
    if (id === 0) {
      respond(res, 503, 'The host is shutting down.');
      return;
    }
    this.#dispatched();
    this.#begun++;
    const record = {
      method: req.method ?? 'GET',
      url,
      remoteAddress: info.remoteAddress,
      user: decision.result.authUser,
      status: 0,
      bytes: 0,
      logParameter: '',
      finishedAt: 0,
    };
    const hosted = new HostedRequest(
      id,
      this.#native,
      req,
      res,
      record,
      this.#options.verify,
      info.keepAlive,
      this.#dispatched,
    );
    this.#requests.set(id, hosted);
    // Without a body the native side has already dispatched it (nothing to feed; Node
    // discards what is left of the request stream when the response ends).
    if (!info.lengthKnown || info.contentLength > 0) hosted.pumpBody();
  }

  /**
   * Waits for outstanding requests (up to closeTimeoutMs), then TerminateExtension and
   * unload. Stop the HTTP server first.
   */
  close(): Promise<void> {
    if (this.#closing === undefined) {
      this.#closing = new Promise<void>((resolve) => {
        this.#resolveClosed = resolve;
      });
      this.#native.close(this.#options.closeTimeoutMs);
    }
    return this.#closing;
  }

  /**
   * A request may have been dispatched (begin, pushBody, endBody): its HttpExtensionProc
   * waits for wakeDispatches(), called once at the end of this turn of the event loop
   * (setImmediate runs before the loop waits for I/O again), so the requests of one turn
   * wake one host thread between them.
   */
  readonly #dispatched = (): void => {
    if (this.#wakeArmed) return;
    this.#wakeArmed = true;
    setImmediate(this.#wakeDispatches);
  };

  readonly #wakeDispatches = (): void => {
    this.#wakeArmed = false;
    this.#native.wakeDispatches();
  };

  #finished(hosted: HostedRequest): void {
    this.#requests.delete(hosted.id);
    if (this.#requests.size === 0) this.#watchIdle();
    hosted.onFinished();
    const r = hosted.record;
    r.finishedAt = Date.now();
    if (this.#options.accessLog !== undefined) {
      // Like IIS's buffered log: the lines of up to LOG_FLUSH_MS go out in one call.
      if (this.#logBatch.length === 0) this.#logTimer = setTimeout(this.#flushLog, LOG_FLUSH_MS);
      this.#logBatch.push(r);
    }
    this.emit('request-finished', r);
  }

  /**
   * The host has had no request for IDLE_RELEASE_MS after a burst: what the burst left in
   * the heaps goes back, once per burst. Under load V8 grows its young generation to 16 MiB
   * semi-spaces and keeps it; a memory-reducing collection (and malloc_trim) brought the
   * host's resting RSS after the bench's load runs from ~104-127 MiB to ~68-73 MiB.
   */
  #watchIdle(): void {
    if (this.#idleTimer !== undefined || this.#begun - this.#begunAtRelease < BURST_REQUESTS) return;
    this.#begunAtIdle = this.#begun;
    this.#idleTimer = setTimeout(this.#whenIdle, IDLE_RELEASE_MS).unref();
  }

  readonly #whenIdle = (): void => {
    this.#idleTimer = undefined;
    if (this.#closing !== undefined) return;
    if (this.#begun !== this.#begunAtIdle || this.#requests.size > 0) {
      // Not idle after all: look again once the requests are done.
      if (this.#requests.size === 0) this.#watchIdle();
      return;
    }
    this.#begunAtRelease = this.#begun;
    this.#native.releaseMemory();
    this.emit('memory-released');
  };

  readonly #flushLog = (): void => {
    clearTimeout(this.#logTimer);
    if (this.#logBatch.length === 0) return;
    // Requests of one batch mostly finished within the same millisecond or a few.
    let stampedAt = -1;
    let time = '';
    const lines = this.#logBatch.map((r) => {
      if (r.finishedAt !== stampedAt) {
        stampedAt = r.finishedAt;
        time = new Date(stampedAt).toISOString();
      }
      return (
        `${time} ${r.remoteAddress} ${r.method} ${r.url} ${r.user === '' ? '-' : r.user} ` +
        `${r.status} ${r.bytes} ${r.logParameter === '' ? '-' : r.logParameter}`
      );
    });
    this.#logBatch = [];
    this.#options.accessLog?.(lines.join('\n'));
  };

  // Called from native code with each event's values as arguments (no rest and spread:
  // this runs for every event of every request). An exception thrown here would cross the
  // N-API callback boundary (and abort the process during teardown): it is recorded and
  // ends the request.
  readonly #onEvent: NativeEventHandler = (kind, id, text, data, flag, num, text2) => {
    try {
      this.#dispatch(kind, id, text, data, flag, num, text2);
    } catch (error) {
      const caught = error instanceof Error ? error : new Error(String(error));
      this.#handlerErrors.push(caught);
      process.emitWarning(`isapi-host: event ${kind} of request ${id}: ${caught.message}`);
      this.#requests.get(id)?.abort();
    }
  };

  readonly #dispatch: NativeEventHandler = (kind, id, text, data, flag, num, text2) => {
    const hosted = this.#requests.get(id);
    switch (kind) {
      case NativeEventKind.headers:
        hosted?.onHeaders(num, text, text2, data ?? Buffer.alloc(0), flag);
        break;
      case NativeEventKind.write:
        // num numbers the write; flag: the extension waits for the socket to take it.
        if (hosted !== undefined) hosted.onWrite(data ?? Buffer.alloc(0), num, flag);
        else if (flag) this.#native.writeDone(id, num, false);
        break;
      case NativeEventKind.resume:
        hosted?.onResume();
        break;
      case NativeEventKind.done:
        hosted?.onDone(num, flag, text);
        break;
      case NativeEventKind.closeConnection:
        hosted?.onCloseConnection();
        break;
      case NativeEventKind.violation: {
        const line = (data ?? Buffer.alloc(0)).toString('latin1');
        const space = line.indexOf(' ');
        const violation: Violation = {
          rule: text,
          message: text2,
          method: line.slice(0, space),
          url: line.slice(space + 1),
        };
        this.#violations.push(violation);
        hosted?.onViolation();
        this.emit('violation', violation);
        break;
      }
      case NativeEventKind.log:
        if (this.listenerCount('log') > 0) this.emit('log', text);
        break;
      case NativeEventKind.finished:
        if (hosted !== undefined) this.#finished(hosted);
        break;
      case NativeEventKind.closed:
        this.#native.releaseEvents();
        // Requests the extension never finished (close was not drained): their clients
        // get no more from this host.
        for (const stuck of this.#requests.values()) this.#finished(stuck);
        this.#flushLog();
        this.#resolveClosed?.();
        break;
    }
  };
}

function respond(
  res: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
): void {
  const body = `${text}\n`;
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'text/plain',
    'Content-Length': String(Buffer.byteLength(body)),
    Server: 'Microsoft-IIS/10.0',
  });
  res.end(body);
}

function clientWantsKeepAlive(req: IncomingMessage): boolean {
  const connection = (req.headers.connection ?? '').toLowerCase();
  if (req.httpVersion === '1.0') return /keep-alive/.test(connection);
  return !/close/.test(connection);
}

function requestInfo(
  req: IncomingMessage,
  target: string,
  authType: string,
  authUser: string,
): NativeRequestInfo {
  const socket = req.socket;
  const contentLength = req.headers['content-length'];
  const chunked = req.headers['transfer-encoding'] !== undefined;
  const tls = socket instanceof TLSSocket && socket.encrypted ? tlsFacts(socket) : undefined;
  return {
    method: req.method ?? 'GET',
    // One latin1 character per byte as sent.
    target,
    httpVersion: req.httpVersion,
    headers: req.rawHeaders.join('\n'),
    remoteAddress: socket.remoteAddress ?? '',
    remotePort: socket.remotePort ?? 0,
    localAddress: socket.localAddress ?? '',
    localPort: socket.localPort ?? 0,
    keepAlive: clientWantsKeepAlive(req),
    lengthKnown: !chunked,
    contentLength: chunked || contentLength === undefined ? 0 : Number(contentLength),
    tls,
    authType,
    authUser,
  };
}
