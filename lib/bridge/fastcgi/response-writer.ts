// Writes a request's answer to the web server's socket as FastCGI records: the CGI header
// block, the body in STDOUT records, STDERR text, and FCGI_END_REQUEST. Every write
// reports whether the socket wants more now (socket.write()'s boolean), so that
// connection.ts waits for 'drain' before pulling the next body chunk: a slow web server
// slows the body iterator, and so the upstream it reads from.
//
// Writes are held (socket.cork) from the header block until flush(): a small response —
// header block, body, empty STDOUT and END_REQUEST — leaves in one writev, so the web server
// is woken once per response rather than three or four times. connection.ts flushes at the
// end of the response, before it waits for 'drain', and at the latest one event loop turn
// after the header block (a slow body never holds the headers back).
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { CgiHeaderError } from '../errors.js';
import { cgiHeaderLines } from '../headers/policy.js';
import type { CgiResponse } from './handler.js';
import { encodeEndRequest, encodeStream, encodeStreamParts } from './records.js';
import { ProtocolStatus, RecordType } from './protocol.js';

const BAD_VALUE = /[\r\n\0]/;

/**
 * `Status: 200 OK`, the headers the header policy lets through (headers/policy.ts) and a
 * blank line, as latin1 bytes. Throws CgiHeaderError.
 */
export function formatHeaderBlock(response: Pick<CgiResponse, 'status' | 'reason' | 'headers'>): Buffer {
  if (!Number.isInteger(response.status) || response.status < 100 || response.status > 999) {
    throw new CgiHeaderError(`status ${response.status}`);
  }
  const reason = response.reason ?? STATUS_CODES[response.status] ?? 'Unknown';
  if (BAD_VALUE.test(reason)) throw new CgiHeaderError('the reason phrase holds CR, LF or NUL');
  return Buffer.from(
    `Status: ${response.status} ${reason}\r\n${cgiHeaderLines(response.headers)}\r\n`,
    'latin1',
  );
}

export class ResponseWriter {
  readonly #socket: Socket;
  readonly #requestId: number;
  #held = false;

  constructor(socket: Socket, requestId: number) {
    this.#socket = socket;
    this.#requestId = requestId;
  }

  /** Body bytes as STDOUT records padded to 8 bytes, written as one writev. False: wait for drain. */
  stdout(data: Uint8Array): boolean {
    if (data.length === 0) return !this.#socket.writableNeedDrain;
    return this.#writeParts(encodeStreamParts(RecordType.Stdout, this.#requestId, data, { padTo8: true }));
  }

  stderr(text: string): boolean {
    const data = Buffer.from(text, 'utf8');
    if (data.length === 0) return !this.#socket.writableNeedDrain;
    return this.#socket.write(encodeStream(RecordType.Stderr, this.#requestId, data, { padTo8: true }));
  }

  /** Holds the writes that follow until flush(). */
  hold(): void {
    if (this.#held) return;
    this.#held = true;
    this.#socket.cork();
  }

  /** Sends what hold() kept back, as one writev. */
  flush(): void {
    if (!this.#held) return;
    this.#held = false;
    this.#socket.uncork();
  }

  /** The end of a complete response: the empty STDOUT record, then END_REQUEST; flushed. */
  complete(appStatus: number): void {
    this.#socket.write(
      Buffer.concat([
        encodeStream(RecordType.Stdout, this.#requestId, Buffer.alloc(0)),
        encodeEndRequest(this.#requestId, appStatus, ProtocolStatus.RequestComplete),
      ]),
    );
    this.flush();
  }

  /** END_REQUEST alone: for an aborted request; flushed. */
  end(appStatus: number): void {
    this.#socket.write(encodeEndRequest(this.#requestId, appStatus, ProtocolStatus.RequestComplete));
    this.flush();
  }

  #writeParts(parts: Uint8Array[]): boolean {
    let ready = true;
    for (const part of parts) ready = this.#socket.write(part);
    return ready;
  }
}
