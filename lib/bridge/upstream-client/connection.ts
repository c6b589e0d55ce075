// One keep-alive connection to the upstream, carrying one exchange at a time (no
// pipelining): the request head and body out, the response parsed as it is read.
//
// Reads land in one 64 KiB buffer shared by every connection (net's `onread`): the parser
// works on it synchronously and the body bytes handed on are copied out, so no per-read
// buffer is allocated and left to the garbage collector (with undici, a 1 GiB transfer
// grew the bridge by ~85 MiB of such buffers before a full GC freed them). The body bytes
// of one read are copied out together, as one chunk, however many chunks of a chunked
// body they hold: Kallithea's hg and git output comes in 4 KiB chunks, and a chunk each
// cost a promise, a FastCGI record and (past the writer's flush size) a socket write. A
// large chunk's memory is lent by body-chunks.ts and comes back once the web server's
// socket has written it.
//
// The connection goes back to the pool only after a complete response to a completely
// written request, with nothing extra read; anything else (abort, error, early response,
// close-delimited body, Connection: close) closes it.
import { connect, type Socket } from 'node:net';
import { bodyChunks } from '../body-chunks.js';
import { BodyWriter } from './body-writer.js';
import { BODY_TIMEOUT, clientError, CONNECT_TIMEOUT, HEADERS_TIMEOUT, SOCKET_CLOSED } from './errors.js';
import type { UpstreamRequest } from './request.js';
import { ResponseParser } from './response-parser.js';

/** What the forwarder's exchange implements (undici's callback handler, in our types). */
export interface ExchangeHandler {
  /** The request has a connection; `abort` ends the exchange (and the connection, if used). */
  onConnect(abort: (reason: Error) => void): void;
  /** False: pause reading until `resume` is called. */
  onHeaders(statusCode: number, rawHeaders: string[], resume: () => void, statusText: string): boolean;
  /** A body chunk the handler owns. False: pause reading until `resume`. */
  onData(chunk: Buffer): boolean;
  onComplete(): void;
  /** Exactly one of onComplete/onError ends every exchange. */
  onError(error: Error): void;
}

/** Where the upstream listens: TCP, or a Unix socket (the bridge's own workers). */
export type UpstreamAddress = { readonly host: string; readonly port: number } | { readonly path: string };

export interface ConnectionOptions {
  readonly connectTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly bodyTimeoutMs: number;
  readonly tcpKeepAlive: boolean;
  readonly maxHeaderBytes: number;
}

/** The pool's side: told once per exchange how it ended, and when an idle socket went away. */
export interface ConnectionOwner {
  exchangeEnded(connection: Connection, reusable: boolean): void;
  idleClosed(connection: Connection): void;
}

const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);
const TCP_KEEPALIVE_DELAY_MS = 60_000;

const enum Phase {
  None,
  Headers,
  Body,
}

export class Connection {
  readonly #socket: Socket;
  readonly #options: ConnectionOptions;
  readonly #owner: ConnectionOwner;
  readonly #parser: ResponseParser;
  #connected = false;
  #closed = false;
  #socketError: Error | undefined;

  // The exchange in progress, if any.
  #handler: ExchangeHandler | null = null;
  #request: UpstreamRequest | null = null;
  #head = '';
  #writer: BodyWriter | null = null;
  #requestWritten = false;
  #paused = false;
  /** Body bytes of the read being parsed: views of READ_BUFFER, copied out as one chunk after it. */
  readonly #views: Buffer[] = [];
  #viewBytes = 0;

  // One timer per phase, made once and re-armed with refresh(); `#phase` says which counts.
  #phase = Phase.None;
  #headersTimer: NodeJS.Timeout | null = null;
  #bodyTimer: NodeJS.Timeout | null = null;
  #connectTimer: NodeJS.Timeout | null;

  /** When it last became idle (Date.now()), and how long the upstream keeps it open. */
  idleSince = 0;
  keepAliveMs = 0;

  constructor(address: UpstreamAddress, options: ConnectionOptions, owner: ConnectionOwner) {
    this.#options = options;
    this.#owner = owner;
    this.#parser = new ResponseParser(
      { head: (s, t, h) => this.#onHead(s, h, t), body: (chunk) => this.#onBody(chunk) },
      options.maxHeaderBytes,
    );
    const onread = { buffer: READ_BUFFER, callback: (n: number) => this.#onRead(n) };
    this.#socket =
      'path' in address ? connect({ path: address.path, onread }) : connect({ ...address, onread });
    this.#socket.setNoDelay(true);
    this.#connectTimer = setTimeout(() => {
      this.#socket.destroy(
        clientError(CONNECT_TIMEOUT, `no connection within ${options.connectTimeoutMs} ms`),
      );
    }, options.connectTimeoutMs);
    this.#socket.once('connect', this.#onConnect);
    this.#socket.on('error', (error) => (this.#socketError ??= error));
    this.#socket.once('close', this.#onClose);
  }

  get busy(): boolean {
    return this.#handler !== null;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Starts one exchange: the request goes out once the socket is connected. */
  run(request: UpstreamRequest, head: string, handler: ExchangeHandler): void {
    this.#handler = handler;
    this.#request = request;
    this.#head = head;
    this.#requestWritten = false;
    this.#paused = false;
    this.#parser.reset(request.method === 'HEAD');
    handler.onConnect((reason) => this.#abort(handler, reason));
    if (this.#connected && this.#handler === handler) this.#send();
  }

  /** Closes the socket; an exchange in progress fails with `error`. */
  destroy(error: Error): void {
    if (this.#handler !== null) this.#fail(error);
    else this.#socket.destroy();
  }

  readonly #onConnect = (): void => {
    this.#connected = true;
    if (this.#connectTimer !== null) clearTimeout(this.#connectTimer);
    this.#connectTimer = null;
    // After 'connect', not at creation: Wine fails setKeepAlive on a connecting socket.
    if (this.#options.tcpKeepAlive) this.#socket.setKeepAlive(true, TCP_KEEPALIVE_DELAY_MS);
    if (this.#handler !== null) this.#send();
  };

  #send(): void {
    const request = this.#request as UpstreamRequest;
    this.#socket.write(this.#head, 'latin1');
    this.#head = '';
    this.#arm(Phase.Headers);
    if (request.body === null) {
      this.#requestWritten = true;
      return;
    }
    const handler = this.#handler;
    this.#writer = new BodyWriter(
      this.#socket,
      request.body,
      request.contentLength,
      () => {
        if (this.#phase === Phase.Headers) this.#arm(Phase.Headers);
      },
      (error) => {
        if (this.#handler !== handler) return;
        this.#writer = null;
        if (error !== undefined) this.#fail(error);
        else this.#requestWritten = true;
      },
    );
    this.#writer.start();
  }

  // --- reading ---

  /** net's onread callback: `n` bytes are in READ_BUFFER. False pauses the socket. */
  #onRead(n: number): boolean {
    if (this.#handler === null) {
      // Bytes on an idle connection: not a response to anything; never reuse it.
      this.#socket.destroy();
      return false;
    }
    if (this.#phase === Phase.Body) this.#arm(Phase.Body);
    let end: number;
    try {
      end = this.#parser.execute(READ_BUFFER, 0, n);
    } catch (error) {
      // What came before the malformed bytes is handed on, as it was when each chunk went alone.
      this.#handOnBody();
      this.#fail(error as Error);
      return false;
    }
    this.#handOnBody();
    if (this.#handler !== null && this.#parser.done) this.#complete(end === n);
    return !this.#paused;
  }

  #onHead(statusCode: number, rawHeaders: string[], statusText: string): void {
    const handler = this.#handler;
    if (handler === null) return;
    this.#arm(this.#parser.done ? Phase.None : Phase.Body);
    const resume = (): void => {
      if (this.#handler === handler) this.#resume();
    };
    if (!handler.onHeaders(statusCode, rawHeaders, resume, statusText)) this.#pause();
  }

  #onBody(view: Buffer): void {
    if (this.#handler === null || view.length === 0) return;
    this.#views.push(view);
    this.#viewBytes += view.length;
  }

  /** The body bytes of this read, as one copy: the views are overwritten by the next read. */
  #handOnBody(): void {
    const views = this.#views;
    if (views.length === 0) return;
    const chunk = bodyChunks.copy(views, this.#viewBytes);
    views.length = 0;
    this.#viewBytes = 0;
    const handler = this.#handler;
    if (handler !== null && !handler.onData(chunk)) this.#pause();
  }

  #pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    // A consumer that lags is not a silent upstream: the body timeout waits.
    if (this.#phase === Phase.Body) this.#phase = Phase.None;
  }

  #resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    if (!this.#parser.done) this.#arm(Phase.Body);
    this.#socket.resume();
  }

  // --- the end of an exchange ---

  /** The response is complete; `clean`: nothing was read beyond it. */
  #complete(clean: boolean): void {
    const handler = this.#handler as ExchangeHandler;
    this.#arm(Phase.None);
    // An answer before the whole request was sent (an early 4xx/5xx): the rest of the body
    // is not wanted, and the connection is mid-request, so it cannot be reused.
    const reusable = clean && this.#requestWritten && this.#parser.keepAlive && !this.#closed;
    this.#writer?.stop();
    this.#end();
    if (reusable) {
      this.keepAliveMs = this.#parser.keepAliveHintMs ?? 0;
    } else {
      this.#socket.destroy();
    }
    this.#paused = false;
    this.#owner.exchangeEnded(this, reusable);
    handler.onComplete();
  }

  #fail(error: Error): void {
    const handler = this.#handler;
    if (handler === null) return;
    this.#arm(Phase.None);
    this.#writer?.stop();
    this.#end();
    this.#socket.destroy();
    this.#owner.exchangeEnded(this, false);
    handler.onError(error);
  }

  #end(): void {
    this.#handler = null;
    this.#request = null;
    this.#writer = null;
  }

  /**
   * The handler gave up (client abort). Before a byte was written the connection is still
   * clean and goes back to the pool; after, the upstream is mid-exchange and must see the
   * connection close rather than write into the void.
   */
  #abort(handler: ExchangeHandler, reason: Error): void {
    if (this.#handler !== handler) return;
    if (this.#head !== '') {
      this.#arm(Phase.None);
      this.#end();
      this.#owner.exchangeEnded(this, this.#connected && !this.#closed);
      if (!this.#connected) this.#socket.destroy();
      handler.onError(reason);
      return;
    }
    this.#fail(reason);
  }

  readonly #onClose = (): void => {
    this.#closed = true;
    if (this.#connectTimer !== null) clearTimeout(this.#connectTimer);
    this.#arm(Phase.None);
    if (this.#handler === null) {
      this.#owner.idleClosed(this);
      return;
    }
    // A body delimited by the connection's close ends here; anything else was cut short.
    if (this.#parser.endsAtClose()) return this.#complete(false);
    const before = this.#parser.started ? 'mid-response' : 'before responding';
    this.#fail(
      this.#socketError ?? clientError(SOCKET_CLOSED, `the upstream closed the connection ${before}`),
    );
  };

  // --- timeouts ---

  #arm(phase: Phase): void {
    this.#phase = phase;
    if (phase === Phase.Headers) {
      this.#headersTimer ??= this.#timer(Phase.Headers, this.#options.headersTimeoutMs);
      this.#headersTimer.refresh();
    } else if (phase === Phase.Body) {
      this.#bodyTimer ??= this.#timer(Phase.Body, this.#options.bodyTimeoutMs);
      this.#bodyTimer.refresh();
    }
  }

  #timer(phase: Phase, ms: number): NodeJS.Timeout {
    const timer = setTimeout(() => {
      if (this.#phase !== phase || this.#handler === null) return;
      this.#fail(
        phase === Phase.Headers
          ? clientError(HEADERS_TIMEOUT, `no response head within ${ms} ms`)
          : clientError(BODY_TIMEOUT, `no response body byte for ${ms} ms`),
      );
    }, ms);
    timer.unref();
    return timer;
  }
}
