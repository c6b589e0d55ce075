// One request on its way through the extension, seen from the JS thread: feeds the body
// to native code with backpressure, and turns the extension's header block and writes
// into the HTTP response the way IIS frames it (native/host/README.md):
//   - Content-Length from the extension: passed on, keep-alive allowed;
//   - `Transfer-Encoding: chunked` from the extension: native code checks its framing
//     strictly and de-chunks it, Node chunks the payload again;
//   - 204, 304, 1xx and HEAD: no body, keep-alive allowed;
//   - neither: `Connection: close`, and the end of the body is the end of the connection
//     (the host writes that response on the socket itself, as Node would chunk it).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NativeIsapiHost } from './binding.js';

// How long a response that closes the connection waits for the rest of a request body it
// did not read: http.sys drains it for DrainEntityBody, 2 minutes by default.
const DRAIN_LIMIT_MS = 120_000;

// Writes this big give their Buffer back to native code once the socket wrote them. Big
// writes arrive as external Buffers, whose size V8 does not see: left to the garbage
// collector, a download kept tens of MiB of them alive. Below this, a callback per write
// would cost more than it saves.
const RELEASE_AT = 16 * 1024;

export interface RequestRecord {
  method: string;
  url: string;
  remoteAddress: string;
  user: string;
  status: number;
  bytes: number;
  logParameter: string;
  /** When the request left the host (ms since the epoch), 0 before. */
  finishedAt: number;
}

export class HostedRequest {
  readonly id: number;
  readonly record: RequestRecord;
  readonly #native: NativeIsapiHost;
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  readonly #verify: boolean;
  /** After pushBody or endBody, which may dispatch the request (IsapiHost wakes a thread). */
  readonly #dispatched: () => void;
  #headersSent = false;
  /** The connection stays open after this response (else it closes, once the body is in). */
  #keepAlive: boolean;
  #onBody: ((chunk: Buffer) => void) | undefined;
  #raw = false; // non-verifier: WriteClient before any header, bytes go to the socket as-is
  #failed = false;
  #done = false;
  #closed = false;
  #finished = false;

  constructor(
    id: number,
    native: NativeIsapiHost,
    req: IncomingMessage,
    res: ServerResponse,
    record: RequestRecord,
    verify: boolean,
    clientKeepAlive: boolean,
    dispatched: () => void,
  ) {
    this.id = id;
    this.#native = native;
    this.#req = req;
    this.#res = res;
    this.record = record;
    this.#verify = verify;
    this.#keepAlive = clientKeepAlive;
    this.#dispatched = dispatched;
    res.on('close', () => this.#socketClosed());
  }

  /** Feeds the request body to native code, pausing while its buffer is full. */
  pumpBody(): void {
    this.#onBody = (chunk: Buffer): void => {
      if (!this.#native.pushBody(this.id, chunk)) this.#req.pause();
      this.#dispatched();
    };
    this.#req.on('data', this.#onBody);
    this.#req.on('end', () => {
      this.#native.endBody(this.id);
      this.#dispatched();
    });
  }

  /**
   * Ends the response with `end` once the client's body is in, reading and dropping what is
   * left of it, as http.sys drains a body the application did not read. A keep-alive
   * response ends at once (the body drains on its way to the next request); one that
   * closes the connection waits, up to DRAIN_LIMIT_MS: a close with body bytes unread
   * is a TCP reset, which may reach the client before it read the answer (it then sees
   * EPIPE or ECONNRESET on its upload).
   */
  #endAfterBody(end: () => void): void {
    const req = this.#req;
    if (req.complete || req.destroyed) {
      end();
      return;
    }
    if (this.#onBody !== undefined) req.off('data', this.#onBody);
    req.resume();
    if (this.#keepAlive) {
      end();
      return;
    }
    const ended = (): void => {
      clearTimeout(limit);
      req.off('end', ended);
      req.off('close', ended);
      end();
    };
    const limit = setTimeout(ended, DRAIN_LIMIT_MS).unref();
    req.once('end', ended);
    req.once('close', ended);
  }

  onResume(): void {
    this.#req.resume();
  }

  /**
   * The extension's head, checked by native code (status 100-999, token names, no control
   * bytes in values): `fields` is "name\nvalue\nname\nvalue", trimmed, in order. `body`:
   * the bytes that go out with it (a small response arrives whole here), which native code
   * de-chunks when the extension chunks itself.
   */
  onHeaders(status: number, reason: string, fields: string, body: Buffer, keep: boolean): void {
    if (this.#failed || this.#closed) return;
    const res = this.#res;
    const lines = fields === '' ? [] : fields.split('\n');
    let hasLength = false;
    let chunked = false;
    let extensionCloses = false;
    let hasServer = false;
    let hasDate = false;
    for (let i = 0; i + 1 < lines.length; i += 2) {
      const value = lines[i + 1] ?? '';
      switch (lines[i]?.toLowerCase()) {
        case 'content-length':
          hasLength = true;
          break;
        case 'transfer-encoding':
          if (/chunked/i.test(value)) chunked = true;
          break;
        case 'connection':
          if (/close/i.test(value)) extensionCloses = true;
          break;
        case 'server':
          hasServer = true;
          break;
        case 'date':
          hasDate = true;
          break;
      }
    }
    const bodiless = status < 200 || status === 204 || status === 304 || this.#req.method === 'HEAD';
    // Keep-alive only when the extension asked for it, the client allows it and the
    // response has framing the client can find the end of.
    const keepAlive = keep && (hasLength || chunked || bodiless) && !extensionCloses;
    this.#keepAlive = keepAlive;
    // Names and values alternate, as writeHead takes them.
    const flat = keepAlive ? lines : withoutConnection(lines);
    if (!hasServer) flat.push('Server', 'Microsoft-IIS/10.0');
    if (!keepAlive) flat.push('Connection', 'close');
    this.record.status = status;
    this.#headersSent = true;
    if (hasLength || chunked || bodiless) {
      // A Content-Length Node passes on; a chunked body arrives de-chunked and Node
      // frames it again (a Connection: close header makes Node close after it).
      res.writeHead(status, reason, flat);
    } else {
      // Neither: IIS sends the body as written and ends it by closing. Node would chunk
      // it, so the host writes this response on the socket itself.
      this.#raw = true;
      this.#keepAlive = false;
      const socket = res.socket;
      if (socket === null) {
        // Behind a pipelined response that still owns the socket: nothing to write on.
        this.abort();
        return;
      }
      if (!hasDate) flat.push('Date', new Date().toUTCString());
      let text = `HTTP/1.1 ${status} ${reason}\r\n`;
      for (let i = 0; i + 1 < flat.length; i += 2) text += `${flat[i]}: ${flat[i + 1]}\r\n`;
      socket.write(`${text}\r\n`, 'latin1');
    }
    if (body.length > 0) this.#write(body, body.length >= RELEASE_AT);
  }

  /**
   * Bytes the extension wrote, in order. Native code acknowledged the write itself when
   * it kept the host's share of unsent bytes within the write buffer; an `awaited` write
   * is acknowledged here once the socket takes it (which covers every earlier write).
   */
  onWrite(data: Buffer, seq: number, awaited: boolean): void {
    if (this.#failed || this.#closed) {
      if (awaited) this.#native.writeDone(this.id, seq, false);
      return;
    }
    if (!this.#headersSent) {
      // No header call before this write: IIS sends the bytes as they are (the extension
      // wrote its own response head; without one the verifier already reported it).
      this.#raw = true;
      this.#keepAlive = false;
      this.#headersSent = true;
    }
    const ok = this.#write(data, data.length >= RELEASE_AT);
    if (!awaited) return;
    if (ok) {
      this.#native.writeDone(this.id, seq, true);
    } else {
      const socket = this.#res.socket;
      const acknowledge = (): void => {
        this.#res.off('drain', acknowledge);
        socket?.off('drain', acknowledge);
        this.#native.writeDone(this.id, seq, !this.#closed);
      };
      if (this.#raw) socket?.once('drain', acknowledge);
      else this.#res.once('drain', acknowledge);
    }
  }

  /** `release`: the Buffer is the request's own (a write event's), freed once written. */
  #write(data: Buffer, release = false): boolean {
    this.record.bytes += data.length;
    const written = release ? (): void => this.#native.releaseBuffer(data) : undefined;
    if (this.#raw) return this.#res.socket?.write(data, written) ?? true;
    return this.#res.write(data, written);
  }

  onDone(status: number, sessionOk: boolean, logParameter: string): void {
    this.#done = true;
    this.record.logParameter = logParameter;
    const res = this.#res;
    if (this.#closed || this.#failed) return;
    if (this.#raw) {
      this.#endAfterBody(() => {
        res.socket?.end();
        res.socket?.destroySoon();
      });
      return;
    }
    if (!this.#headersSent) {
      if (!sessionOk) {
        this.#sendError(500, 'The extension returned HSE_STATUS_ERROR.');
      } else {
        this.record.status = 200;
        res.writeHead(200, { 'Content-Length': '0', Server: 'Microsoft-IIS/10.0' });
        this.#endAfterBody(() => res.end());
      }
      return;
    }
    // HSE_STATUS_ERROR: IIS closes the connection after the response. Ending the socket
    // right behind the response's last bytes also keeps a pipelined next request from
    // being answered.
    const closes = !sessionOk || status === 4;
    if (closes) this.#keepAlive = false;
    this.#endAfterBody(() => {
      const socket = res.socket;
      res.end();
      if (closes) socket?.end();
    });
  }

  onCloseConnection(): void {
    // What the extension wrote before closing was already taken (as the TCP stack takes
    // a send in IIS): hand Node's corked bytes to the socket before it goes.
    const socket = this.#res.socket;
    while (socket !== null && socket.writableCorked > 0) socket.uncork();
    socket?.destroy();
  }

  /** The verifier caught the extension: 500 if nothing was sent yet, else abort. */
  onViolation(): void {
    if (this.#failed) return;
    this.#failed = true;
    if (this.#closed) return;
    if (!this.#headersSent && !this.#res.headersSent) {
      this.#sendError(500, 'The ISAPI extension broke the host contract (verifier).');
    } else {
      this.#res.destroy();
    }
  }

  #sendError(status: number, text: string): void {
    const body = `${text}\n`;
    this.record.status = status;
    this.#headersSent = true;
    this.#keepAlive = false;
    const res = this.#res;
    res.writeHead(status, {
      'Content-Type': 'text/plain',
      'Content-Length': String(Buffer.byteLength(body)),
      Connection: 'close',
      Server: 'Microsoft-IIS/10.0',
    });
    res.write(body);
    this.#endAfterBody(() => res.end());
  }

  #socketClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    // Before the end: the client went away (or the response ended early); tell the extension.
    if (!this.#finished) this.#native.clientGone(this.id);
  }

  /**
   * Native's one terminal event: the request left the host, whatever ended it (DONE, the
   * client gone before dispatch, the watchdog, a refused dispatch, a close not drained).
   * A response still open here gets no more bytes: an error page if nothing was sent,
   * else the connection goes.
   */
  onFinished(): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#closed || this.#done || this.#failed) return;
    if (!this.#headersSent && !this.#res.headersSent) {
      this.#sendError(503, 'The request ended without a response from the extension.');
    } else {
      this.#res.destroy();
    }
  }

  /** The event handler failed for this request: drop the connection. */
  abort(): void {
    this.#failed = true;
    this.#res.destroy();
  }

  get verify(): boolean {
    return this.#verify;
  }
}

/** Name/value pairs without the Connection header (the host decides it). */
function withoutConnection(lines: string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const name = lines[i] ?? '';
    if (name.toLowerCase() !== 'connection') kept.push(name, lines[i + 1] ?? '');
  }
  return kept;
}
