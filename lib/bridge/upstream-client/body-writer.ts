// The request body onto the upstream socket, as it arrives from the client's STDIN: with
// its Content-Length, or chunked. Backpressure both ways: a full socket pauses the body
// stream (and so the FastCGI STDIN records behind it) until 'drain'. The bytes are counted
// as plain numbers (safe to 2^53), so bodies over 4 GiB are framed and checked exactly.
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { clientError, CONTENT_LENGTH_MISMATCH } from './errors.js';

const CRLF = '\r\n';
const LAST_CHUNK = '0\r\n\r\n';

export class BodyWriter {
  readonly #socket: Socket;
  readonly #body: Readable;
  readonly #contentLength: number | null;
  /** Each chunk written (the headers timeout counts from the last request byte). */
  readonly #progress: () => void;
  /** Exactly once: the whole body is written (no error), or why not. */
  readonly #done: (error?: Error) => void;
  #written = 0;
  #finished = false;

  constructor(
    socket: Socket,
    body: Readable,
    contentLength: number | null,
    progress: () => void,
    done: (error?: Error) => void,
  ) {
    this.#socket = socket;
    this.#body = body;
    this.#contentLength = contentLength;
    this.#progress = progress;
    this.#done = done;
  }

  start(): void {
    const body = this.#body;
    if (body.readableEnded) return this.#onEnd();
    if (body.destroyed) return this.#finish(clientError('UND_ERR_ABORTED', 'request body destroyed'));
    this.#socket.on('drain', this.#onDrain);
    body.on('data', this.#onData);
    body.on('end', this.#onEnd);
    body.on('error', this.#onError);
    body.on('close', this.#onClose);
    body.resume();
  }

  /**
   * Stops writing (the response is complete or the exchange failed): the body's remaining
   * bytes are not wanted, so the stream is destroyed, as undici did.
   */
  stop(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#detach();
    this.#body.destroy();
  }

  readonly #onData = (chunk: Buffer): void => {
    if (this.#finished) return;
    this.#written += chunk.length;
    if (this.#contentLength !== null && this.#written > this.#contentLength) {
      return this.#finish(this.#mismatch());
    }
    let more: boolean;
    if (this.#contentLength !== null) {
      more = this.#socket.write(chunk);
    } else if (chunk.length === 0) {
      return; // an empty chunk would end the chunked body
    } else {
      // One writev for the size line, the data and its CRLF.
      this.#socket.cork();
      this.#socket.write(`${chunk.length.toString(16)}${CRLF}`, 'latin1');
      this.#socket.write(chunk);
      more = this.#socket.write(CRLF, 'latin1');
      this.#socket.uncork();
    }
    this.#progress();
    if (!more) this.#body.pause();
  };

  readonly #onDrain = (): void => {
    if (!this.#finished) this.#body.resume();
  };

  readonly #onEnd = (): void => {
    if (this.#finished) return;
    if (this.#contentLength !== null && this.#written !== this.#contentLength) {
      return this.#finish(this.#mismatch());
    }
    if (this.#contentLength === null) this.#socket.write(LAST_CHUNK, 'latin1');
    this.#progress();
    this.#finish();
  };

  readonly #onError = (error: Error): void => this.#finish(error);

  readonly #onClose = (): void => {
    // 'close' before 'end': the stream was destroyed under us (the client went away).
    if (!this.#body.readableEnded) this.#finish(clientError('UND_ERR_ABORTED', 'request body closed early'));
  };

  #mismatch(): Error {
    return clientError(
      CONTENT_LENGTH_MISMATCH,
      `request body of ${this.#written} bytes${this.#written > (this.#contentLength ?? 0) ? ' or more' : ''}, ` +
        `not the ${this.#contentLength} of its Content-Length`,
    );
  }

  #finish(error?: Error): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#detach();
    this.#done(error);
  }

  #detach(): void {
    this.#socket.off('drain', this.#onDrain);
    const body = this.#body;
    body.off('data', this.#onData);
    body.off('end', this.#onEnd);
    body.off('close', this.#onClose);
    // 'error' stays handled (a no-op now): a late error of a stream we stopped must not
    // end the process as an unhandled 'error' event.
  }
}
