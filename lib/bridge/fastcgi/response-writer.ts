// Writes a request's answer to the web server's socket as FastCGI records: the CGI header
// block, the body in STDOUT records, STDERR text, and FCGI_END_REQUEST. Every write
// reports whether the socket wants more now (socket.write()'s boolean), so that
// connection.ts waits for 'drain' before pulling the next body chunk: a slow web server
// slows the body iterator, and so the upstream it reads from.
//
// STDOUT data is queued, not written, until the response is complete, FLUSH_BYTES are
// queued, or the body has nothing more to give in this turn of the event loop (flushSoon):
// a small response — header block and body in one STDOUT record, the empty STDOUT and
// END_REQUEST — is encoded into one buffer (the header block written into it as text, never
// a buffer of its own) and leaves in one write() (one syscall, no writev bookkeeping), so the
// web server is woken once per response. Large chunks are not copied: their records
// reference them.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { bodyChunks } from '../body-chunks.js';
import { CgiHeaderError } from '../errors.js';
import { cgiHeaderLines } from '../headers/policy.js';
import type { CgiResponse } from './handler.js';
import {
  END_REQUEST_LEN,
  encodeStream,
  encodeStreamParts,
  measureStreamRecord,
  writeEndRequest,
  writeStream,
  writeStreamRecord,
} from './records.js';
import { FCGI_HEADER_LEN, ProtocolStatus, RecordType } from './protocol.js';

const BAD_VALUE = /[\r\n\0]/;

/**
 * `Status: 200 OK`, the headers the header policy lets through (headers/policy.ts) and a
 * blank line, as latin1 text (one character per byte). Throws CgiHeaderError.
 */
export function formatHeaderBlock(response: Pick<CgiResponse, 'status' | 'reason' | 'headers'>): string {
  if (!Number.isInteger(response.status) || response.status < 100 || response.status > 999) {
    throw new CgiHeaderError(`status ${response.status}`);
  }
  const reason = response.reason ?? STATUS_CODES[response.status] ?? 'Unknown';
  if (BAD_VALUE.test(reason)) throw new CgiHeaderError('the reason phrase holds CR, LF or NUL');
  return `Status: ${response.status} ${reason}\r\n${cgiHeaderLines(response.headers)}\r\n`;
}

/** Queued STDOUT bytes that are written at once rather than held for more. */
const FLUSH_BYTES = 16 * 1024;

export class ResponseWriter {
  readonly #socket: Socket;
  readonly #requestId: number;
  /** STDOUT data queued in order (the header block as latin1 text, body chunks), not yet encoded. */
  #queued: Array<Uint8Array | string> = [];
  #queuedBytes = 0;
  #flushScheduled = false;
  /**
   * The body passes the forwarder's chunks through unchanged (passesChunksThrough): once
   * written, each one's memory goes back to bodyChunks.
   */
  givesBackChunks = false;

  constructor(socket: Socket, requestId: number) {
    this.#socket = socket;
    this.#requestId = requestId;
  }

  /**
   * Queues STDOUT: body bytes, or the header block as latin1 text (formatHeaderBlock). False:
   * wait for 'drain' before the next chunk.
   */
  stdout(data: Uint8Array | string): boolean {
    if (data.length === 0) return !this.#socket.writableNeedDrain;
    this.#queued.push(data);
    this.#queuedBytes += data.length;
    if (this.#queuedBytes >= FLUSH_BYTES) return this.flush();
    return true;
  }

  stderr(text: string): boolean {
    const data = Buffer.from(text, 'utf8');
    if (data.length === 0) return !this.#socket.writableNeedDrain;
    return this.#socket.write(encodeStream(RecordType.Stderr, this.#requestId, data, { padTo8: true }));
  }

  /**
   * The body has nothing more in this turn: what is queued goes out once the promises of
   * this turn have run (process.nextTick runs after them), unless the response completes
   * first. A slow body never holds the header block back.
   */
  flushSoon(): void {
    if (this.#flushScheduled || this.#queuedBytes === 0) return;
    this.#flushScheduled = true;
    process.nextTick(() => {
      this.#flushScheduled = false;
      this.flush();
    });
  }

  /** Writes what is queued. False: wait for 'drain'. */
  flush(): boolean {
    if (this.#queuedBytes === 0 || !this.#socket.writable) {
      this.#queued = [];
      this.#queuedBytes = 0;
      return !this.#socket.writableNeedDrain;
    }
    return this.#write(0, 0);
  }

  /** The end of a complete response: what is queued, the empty STDOUT, END_REQUEST; one write. */
  complete(appStatus: number): void {
    this.#write(EMPTY_STDOUT_LEN + END_REQUEST_LEN, appStatus);
  }

  /** END_REQUEST alone after what is queued: for an aborted or failed request. */
  end(appStatus: number): void {
    this.#write(END_REQUEST_LEN, appStatus);
  }

  /**
   * Writes the queued STDOUT data and `tail` bytes of ending records (0: none; END_REQUEST
   * alone; the empty STDOUT and END_REQUEST). Small: one buffer, one STDOUT record. Large:
   * one writev of record headers around the caller's chunks (cork), so no body byte is copied.
   */
  #write(tail: number, appStatus: number): boolean {
    const queued = this.#queued;
    const bytes = this.#queuedBytes;
    this.#queued = [];
    this.#queuedBytes = 0;
    const id = this.#requestId;
    if (bytes <= FLUSH_BYTES) {
      const out = Buffer.allocUnsafe(measureStreamRecord(bytes, true) + tail);
      const at = writeStreamRecord(out, 0, RecordType.Stdout, id, queued, bytes, true);
      this.#writeEnding(out, at, tail, appStatus);
      if (this.givesBackChunks) for (const data of queued) giveBack(data); // copied into `out`
      return this.#socket.write(out);
    }
    this.#socket.cork();
    for (const queuedData of queued) {
      const data = typeof queuedData === 'string' ? Buffer.from(queuedData, 'latin1') : queuedData;
      const parts = encodeStreamParts(RecordType.Stdout, id, data, { padTo8: true });
      const last = parts.length - 1;
      for (let i = 0; i < last; i += 1) this.#socket.write(parts[i] as Uint8Array);
      // Written (or failed with the socket): no write refers to the chunk any more.
      if (this.givesBackChunks && data === queuedData)
        this.#socket.write(parts[last] as Uint8Array, () => giveBack(data));
      else this.#socket.write(parts[last] as Uint8Array);
    }
    if (tail > 0) this.#socket.write(this.#writeEnding(Buffer.allocUnsafe(tail), 0, tail, appStatus));
    this.#socket.uncork();
    return !this.#socket.writableNeedDrain;
  }

  #writeEnding(out: Buffer, at: number, tail: number, appStatus: number): Buffer {
    if (tail === EMPTY_STDOUT_LEN + END_REQUEST_LEN) {
      at = writeStream(out, at, RecordType.Stdout, this.#requestId, EMPTY, false);
    }
    if (tail > 0) writeEndRequest(out, at, this.#requestId, appStatus, ProtocolStatus.RequestComplete);
    return out;
  }
}

function giveBack(data: Uint8Array | string): void {
  if (typeof data !== 'string') bodyChunks.giveBack(data);
}

const EMPTY = new Uint8Array(0);
/** The empty STDOUT record that ends the stream: a header alone. */
const EMPTY_STDOUT_LEN = FCGI_HEADER_LEN;
