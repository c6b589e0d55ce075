// One web server connection to the responder (server.ts accepts it). Bytes from the socket
// go through the RecordParser; each record moves the connection along:
//
//   BEGIN_REQUEST -> PARAMS (checked for the hop secret) -> the handler runs (handler.ts),
//   STDIN records feed request.stdin meanwhile -> the response goes back through
//   ResponseWriter -> END_REQUEST -> the next BEGIN_REQUEST (FCGI_KEEP_CONN) or close.
//
// One request at a time (FCGI_MPXS_CONNS=0): a second BEGIN_REQUEST while one runs gets
// FCGI_CANT_MPX_CONN. The socket's own flow control is the window both ways: a handler
// that does not read stdin pauses the socket; a socket that does not drain pauses the body.
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { passesChunksThrough } from '../body-chunks.js';
import { FastCgiRequestAbortedError, FastCgiSecretError, FastCgiUnexpectedRecordError } from '../errors.js';
import { SECRET_PARAM, type CgiResponse, type FastCgiHandler, type FastCgiRequest } from './handler.js';
import { FCGI_KEEP_CONN, ProtocolStatus, RecordType, Role, ValueName, recordTypeName } from './protocol.js';
import { RecordParser, type FastCgiRecord, type ParserLimits } from './record-parser.js';
import { encodeEndRequest, encodeGetValuesResult, encodeUnknownType } from './records.js';
import { formatHeaderBlock, ResponseWriter } from './response-writer.js';
import { RequestAbort } from './request-abort.js';
import type { SecretCheck } from './secret.js';

export type Logger = (line: string) => void;

/**
 * Management records (request id 0) a connection may send before its first request passed
 * the hop secret. The DLL sends none, nginx and cgi-fcgi one GET_VALUES at most; a local
 * process that floods them is cut off rather than answered without end.
 */
export const MANAGEMENT_BEFORE_SECRET = 8;

export interface ConnectionOptions {
  readonly handler: FastCgiHandler;
  readonly checkSecret: SecretCheck;
  readonly log: Logger;
  readonly limits: ParserLimits;
  /** Answered to FCGI_GET_VALUES as FCGI_MAX_CONNS and FCGI_MAX_REQS. */
  readonly maxConnections: number;
  /** Bytes of request body buffered in request.stdin before the socket is paused. */
  readonly stdinHighWaterMark: number;
}

/**
 * The request this connection serves now, as the handler sees it (FastCgiRequest). Ended
 * exactly once, by #finish(). The body stream and the AbortSignal are made only when asked
 * for: a GET's whole STDIN is one empty record, and almost no request is aborted.
 */
class ActiveRequest implements FastCgiRequest {
  readonly requestId: number;
  readonly keepConn: boolean;
  readonly abort = new RequestAbort();
  readonly writer: ResponseWriter;
  params: ReadonlyMap<string, string> = EMPTY_PARAMS;
  /** PARAMS arrived; the handler is called once the records of the current read are in. */
  started = false;
  /** The handler was called. */
  running = false;
  /** The empty STDIN record arrived before the stream was made. */
  stdinEnded = false;
  #stdin: Readable | null = null;
  stdinEmpty = false;
  finished = false;
  readonly #makeStdin: (request: ActiveRequest) => Readable;
  readonly #stderr: (request: ActiveRequest, text: string) => void;

  constructor(
    requestId: number,
    keepConn: boolean,
    writer: ResponseWriter,
    makeStdin: (request: ActiveRequest) => Readable,
    stderr: (request: ActiveRequest, text: string) => void,
  ) {
    this.requestId = requestId;
    this.keepConn = keepConn;
    this.writer = writer;
    this.#makeStdin = makeStdin;
    this.#stderr = stderr;
  }

  get stdin(): Readable {
    this.#stdin ??= this.#makeStdin(this);
    return this.#stdin;
  }

  /** The stream if it was made. */
  get stdinIfMade(): Readable | null {
    return this.#stdin;
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  stderr(text: string): void {
    this.#stderr(this, text);
  }
}

const EMPTY_PARAMS: ReadonlyMap<string, string> = new Map();

export class FastCgiConnection {
  readonly #socket: Socket;
  readonly #options: ConnectionOptions;
  readonly #parser: RecordParser;
  readonly #peer: string;
  #request: ActiveRequest | null = null;
  /** Set by the server's graceful close: end the connection once the request in flight ends. */
  #closeWhenIdle = false;
  /** A request passed the hop secret on this connection. */
  #authenticated = false;
  #managementRecords = 0;
  /**
   * An answer to a management record is waiting for 'drain': records are not parsed (and the
   * socket not read) until the peer reads what we wrote, so answers cannot pile up in memory.
   */
  #awaitingDrain = false;
  /** Resolves when the socket is closed, whoever closed it. */
  readonly closed: Promise<void>;

  constructor(socket: Socket, options: ConnectionOptions) {
    this.#socket = socket;
    this.#options = options;
    this.#parser = new RecordParser('web server', options.limits);
    this.#peer =
      socket.remoteAddress !== undefined ? `${socket.remoteAddress}:${socket.remotePort}` : 'local';
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('close', () => this.#onClose());
    // A reset by the web server is a close like any other; 'close' follows.
    socket.on('error', () => {});
  }

  /** True when no request is in flight. */
  get idle(): boolean {
    return this.#request === null;
  }

  /** Graceful close: end now if idle, else right after the request in flight. */
  closeWhenIdle(): void {
    this.#closeWhenIdle = true;
    if (this.#request === null) this.#socket.end();
  }

  destroy(): void {
    this.#socket.destroy();
  }

  // --- Reading: socket bytes -> records -> the request's state ---

  #onData(chunk: Buffer): void {
    this.#parser.input(chunk);
    this.#parseRecords();
  }

  #parseRecords(): void {
    while (!this.#socket.destroyed && !this.#awaitingDrain) {
      const result = this.#parser.parse();
      if (result.status === 'again') break;
      if (result.status === 'error') return this.#closeBad(result.error.message);
      this.#dispatch(result.record);
    }
    // The handler runs once the records of this read are in: a STDIN that ends in the same
    // read as the PARAMS (every GET) is then known to be empty before anyone reads it.
    const request = this.#request;
    if (request !== null && request.started && !request.running && !request.finished) {
      request.running = true;
      request.stdinEmpty = request.stdinEnded && request.stdinIfMade === null;
      void this.#respond(request);
    }
  }

  #dispatch(record: FastCgiRecord): void {
    if (record.requestId === 0) return this.#management(record);
    if (record.kind === 'begin-request') return this.#begin(record.requestId, record.role, record.flags);

    // Records of a request that is not active are ignored, as the spec says (a refused
    // BEGIN_REQUEST's PARAMS, STDIN still in flight after an abort).
    const request = this.#request;
    if (request === null || request.requestId !== record.requestId || request.finished) return;
    switch (record.kind) {
      case 'abort-request':
        return this.#abort(request, new FastCgiRequestAbortedError('FCGI_ABORT_REQUEST'));
      case 'params':
        return this.#start(request, record.params);
      case 'stream':
        if (record.type === RecordType.Stdin) return this.#stdin(request, record.content);
        if (record.type === RecordType.Data) return; // only the FILTER role reads DATA
        return this.#closeBad(
          new FastCgiUnexpectedRecordError('web server', recordTypeName(record.type)).message,
        );
      default:
        return this.#closeBad(
          new FastCgiUnexpectedRecordError('web server', recordTypeName(record.type)).message,
        );
    }
  }

  /**
   * Records with request id 0: GET_VALUES is answered, any other type is unknown to us. Each
   * answer waits for the peer to read the one before (backpressure), and before the secret
   * only MANAGEMENT_BEFORE_SECRET of them are answered at all.
   */
  #management(record: FastCgiRecord): void {
    this.#managementRecords += 1;
    if (!this.#authenticated && this.#managementRecords > MANAGEMENT_BEFORE_SECRET) {
      return this.#closeBad(
        `web server sent more than ${MANAGEMENT_BEFORE_SECRET} management records before a request with the secret`,
      );
    }
    if (record.kind !== 'get-values') {
      this.#writeManagement(encodeUnknownType(record.type));
      return;
    }
    const known = new Map<string, string>([
      [ValueName.MaxConns, String(this.#options.maxConnections)],
      [ValueName.MaxReqs, String(this.#options.maxConnections)],
      [ValueName.MpxsConns, '0'],
    ]);
    const answer: [string, string][] = [];
    for (const name of record.names) {
      const value = known.get(name);
      if (value !== undefined) answer.push([name, value]);
    }
    this.#writeManagement(encodeGetValuesResult(answer));
  }

  #writeManagement(data: Buffer): void {
    if (!this.#socket.writable || this.#socket.write(data)) return;
    this.#awaitingDrain = true;
    this.#socket.pause();
    this.#socket.once('drain', () => {
      this.#awaitingDrain = false;
      this.#resumeReading();
      this.#parseRecords();
    });
  }

  /** Reads the socket again unless a management answer still waits for 'drain'. */
  #resumeReading(): void {
    if (!this.#awaitingDrain) this.#socket.resume();
  }

  #begin(requestId: number, role: number, flags: number): void {
    const keepConn = (flags & FCGI_KEEP_CONN) !== 0;
    if (this.#request !== null) {
      if (this.#request.requestId === requestId) {
        return this.#closeBad(`web server began request ${requestId} twice`);
      }
      this.#write(encodeEndRequest(requestId, 0, ProtocolStatus.CantMpxConn));
      return;
    }
    if (role !== Role.Responder) {
      this.#write(encodeEndRequest(requestId, 0, ProtocolStatus.UnknownRole));
      if (!keepConn) this.#socket.end();
      return;
    }
    this.#request = new ActiveRequest(
      requestId,
      keepConn,
      new ResponseWriter(this.#socket, requestId),
      this.#makeStdin,
      this.#stderr,
    );
  }

  /**
   * request.stdin, on first use. The environ holds it for every request, but a GET's is
   * never read: when STDIN had already ended, the end is pushed at the first read rather
   * than at creation (push(null) on a fresh stream cost ~2 us per request, and an unread
   * ended stream a destroy() at the finish).
   */
  readonly #makeStdin = (request: ActiveRequest): Readable => {
    const stdin: Readable = new Readable({
      highWaterMark: this.#options.stdinHighWaterMark,
      read: () => {
        if (request.stdinEnded) stdin.push(null);
        // The handler wants more: read the socket again (it was paused when stdin filled up).
        else if (this.#request === request) this.#resumeReading();
      },
    });
    return stdin;
  };

  readonly #stderr = (request: ActiveRequest, text: string): void => {
    if (!request.finished && this.#socket.writable) request.writer.stderr(text);
  };

  /** PARAMS are complete: check the hop secret; the handler runs once this read is parsed. */
  #start(request: ActiveRequest, params: Map<string, string>): void {
    if (request.started) {
      return this.#closeBad(`web server sent a second PARAMS stream for request ${request.requestId}`);
    }
    const secret = params.get(SECRET_PARAM);
    if (!this.#options.checkSecret(secret)) {
      const detail = secret === undefined ? `no ${SECRET_PARAM} param` : `wrong ${SECRET_PARAM}`;
      return this.#closeBad(new FastCgiSecretError(`web server at ${this.#peer}`, detail).message);
    }
    // The secret stays in this hop: nothing above the responder sees it.
    params.delete(SECRET_PARAM);
    this.#authenticated = true;
    request.params = params;
    request.started = true;
  }

  #stdin(request: ActiveRequest, content: Buffer): void {
    if (!request.started)
      return this.#closeBad(`web server sent STDIN before PARAMS for request ${request.requestId}`);
    if (content.length === 0) {
      const made = request.stdinIfMade;
      if (made === null) request.stdinEnded = true;
      else if (!made.destroyed && !made.readableEnded) made.push(null);
      return;
    }
    // STDIN already ended (the empty record came first): later bytes are not part of the body.
    if (request.stdinEnded) return;
    const stdin = request.stdin;
    if (stdin.destroyed || stdin.readableEnded) return; // the handler gave up on the body
    // The window: when the handler does not keep up, stop reading the web server.
    if (!stdin.push(content)) this.#socket.pause();
  }

  // --- Writing: the handler's response -> STDOUT records -> END_REQUEST ---

  async #respond(request: ActiveRequest): Promise<void> {
    const writer = request.writer;
    let response: CgiResponse;
    let head: string;
    try {
      response = await this.#options.handler(request);
      head = formatHeaderBlock(response);
    } catch (error) {
      if (request.finished) return;
      this.#options.log(
        `fastcgi: request ${request.requestId} failed before its response: ${describe(error)}`,
      );
      if (this.#socket.writable) {
        writer.stdout(formatHeaderBlock({ status: 500, headers: [['Content-Type', 'text/plain']] }));
      }
      return this.#finish(request, 1);
    }
    if (request.finished) return void cancel(response.body);

    // Queued, not written: a body that is all here goes out with its head in one write.
    if (!writer.stdout(head)) await this.#drained(request);
    writer.givesBackChunks = passesChunksThrough(response.body);
    if (response.body !== null) {
      try {
        writer.flushSoon();
        for await (const chunk of response.body) {
          if (request.finished) break; // leaving the loop calls the iterator's return()
          if (!writer.stdout(chunk)) await this.#drained(request);
          writer.flushSoon();
        }
      } catch (error) {
        if (request.finished) return;
        // The contract: a body that fails mid-way closes the connection WITHOUT
        // END_REQUEST, so the web server treats the response as truncated.
        this.#options.log(
          `fastcgi: request ${request.requestId} body failed, closing the connection: ${describe(error)}`,
        );
        request.finished = true;
        request.abort.abort(error);
        writer.flush(); // what was sent so far still goes out
        this.#socket.destroy();
        return;
      }
    }
    if (!request.finished) this.#finish(request, 0);
  }

  /** Writes what is queued; resolves when the socket drained, closed, or the request was aborted. */
  #drained(request: ActiveRequest): Promise<void> {
    if (request.writer.flush()) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.#socket.off('drain', done);
        this.#socket.off('close', done);
        request.abort.off(done);
        resolve();
      };
      if (request.finished || this.#socket.destroyed) return resolve();
      this.#socket.on('drain', done);
      this.#socket.on('close', done);
      request.abort.on(done);
    });
  }

  #abort(request: ActiveRequest, reason: FastCgiRequestAbortedError): void {
    request.abort.abort(reason);
    this.#finish(request, 1);
  }

  /** Ends the request exactly once: END_REQUEST, then the next request or the close. */
  #finish(request: ActiveRequest, appStatus: number): void {
    if (request.finished) return;
    request.finished = true;
    if (this.#socket.writable) {
      if (appStatus === 0) request.writer.complete(0);
      else request.writer.end(appStatus);
    }
    // A stream made after STDIN ended holds nothing and waits for nothing: no destroy() needed.
    const stdin = request.stdinIfMade;
    if (stdin !== null && !request.stdinEnded && !stdin.readableEnded) stdin.destroy();
    this.#request = null;
    // Body bytes the handler did not read are still coming: read and drop them.
    this.#resumeReading();
    if (!request.keepConn || this.#closeWhenIdle) this.#socket.end();
  }

  #onClose(): void {
    const request = this.#request;
    if (request === null || request.finished) return;
    request.finished = true;
    this.#request = null;
    request.abort.abort(new FastCgiRequestAbortedError('the connection closed'));
    request.stdinIfMade?.destroy();
  }

  #closeBad(reason: string): void {
    this.#options.log(`fastcgi: closing connection from ${this.#peer}: ${reason}`);
    this.#socket.destroy();
  }

  #write(data: Buffer): void {
    if (this.#socket.writable) this.#socket.write(data);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** Lets go of a body the request no longer wants (the handler answered after an abort). */
function cancel(body: AsyncIterable<Uint8Array> | null): void {
  if (body === null) return;
  const iterator = body[Symbol.asyncIterator]();
  void iterator.return?.().catch(() => {});
}
