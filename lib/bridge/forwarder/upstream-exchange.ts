// One request to Kallithea as the upstream client's exchange handler: resolves `response`
// with the status and raw headers, then hands the body out as an AsyncIterable with
// backpressure, without a per-request Readable, stream iterator or event listeners (a third
// of the bridge's CPU per small request went there when undici's pool.request() did it).
//
// Backpressure: onData() answers false once `highWaterMark` bytes wait unread, which pauses
// the upstream socket; the consumer's next() resumes it when the queue is empty again.
// Stopping early (the iterator's return(), or the client's signal) aborts the request, so
// Kallithea sees its connection close rather than writing into the void.
import type { PassesChunksThrough } from '../body-chunks.js';
import { ClientAbortedError, UpstreamBodyError } from '../errors.js';
import type { RequestAbort } from '../fastcgi/request-abort.js';
import type { ExchangeHandler } from '../upstream-client/connection.js';

export interface UpstreamResponse {
  readonly statusCode: number;
  /** Name, value, name, value... as latin1 strings, in the order Kallithea sent them. */
  readonly rawHeaders: string[];
  readonly statusText: string;
  readonly body: AsyncIterable<Uint8Array>;
}

type Abort = (reason: Error) => void;

const DONE: IteratorResult<Uint8Array> = { done: true, value: undefined };

export class UpstreamExchange
  implements ExchangeHandler, AsyncIterator<Uint8Array>, AsyncIterable<Uint8Array>, PassesChunksThrough
{
  /** Its chunks are the upstream client's copies, handed out and never looked at again. */
  readonly passesChunksThrough = true;
  /** Settles when the response headers arrive, or with the error that came first. */
  readonly response: Promise<UpstreamResponse>;
  readonly #origin: string;
  readonly #clientAbort: RequestAbort;
  readonly #highWaterMark: number;
  readonly #onSettled: (failure: Error | undefined) => void;
  #resolveResponse!: (response: UpstreamResponse) => void;
  #rejectResponse!: (error: unknown) => void;
  #abort: Abort | null = null;
  #resume: (() => void) | null = null;
  #headersSeen = false;

  // The body: chunks not read yet, and the consumer waiting for one.
  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  #paused = false;
  #ended = false;
  #error: Error | null = null;
  #waiting: {
    resolve: (result: IteratorResult<Uint8Array>) => void;
    reject: (error: unknown) => void;
  } | null = null;
  #settled = false;

  /**
   * @param onSettled called once when the exchange is over however it ends (complete,
   *   failed, aborted), with the client's error if it failed before the response headers: the
   *   forwarder releases the worker with it.
   */
  constructor(
    origin: string,
    clientAbort: RequestAbort,
    highWaterMark: number,
    onSettled: (failure: Error | undefined) => void,
  ) {
    this.#origin = origin;
    this.#clientAbort = clientAbort;
    this.#highWaterMark = highWaterMark;
    this.#onSettled = onSettled;
    this.response = new Promise((resolve, reject) => {
      this.#resolveResponse = resolve;
      this.#rejectResponse = reject;
    });
    if (clientAbort.aborted) this.#onAbort();
    else clientAbort.on(this.#onAbort);
  }

  // --- the upstream client's side ---

  onConnect(abort: Abort): void {
    if (this.#settled) return abort(new ClientAbortedError());
    this.#abort = abort;
  }

  onHeaders(statusCode: number, rawHeaders: string[], resume: () => void, statusText: string): boolean {
    this.#resume = resume;
    this.#headersSeen = true;
    this.#resolveResponse({ statusCode, rawHeaders, statusText, body: this });
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.#settled) return true;
    const waiting = this.#waiting;
    if (waiting !== null) {
      this.#waiting = null;
      waiting.resolve({ done: false, value: chunk });
      return true;
    }
    this.#queue.push(chunk);
    this.#queuedBytes += chunk.length;
    this.#paused = this.#queuedBytes >= this.#highWaterMark;
    return !this.#paused;
  }

  onComplete(): void {
    this.#ended = true;
    this.#settle();
    if (this.#queue.length === 0) this.#wake();
  }

  onError(error: Error): void {
    if (!this.#headersSeen) {
      this.#settle(error);
      this.#rejectResponse(error);
      return;
    }
    this.#error ??= this.#clientAbort.aborted
      ? new ClientAbortedError()
      : new UpstreamBodyError(this.#origin, errorDetail(error));
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#settle();
    this.#wake();
  }

  // --- the pipeline's side: the body ---

  next(): Promise<IteratorResult<Uint8Array>> {
    const chunk = this.#queue.shift();
    if (chunk !== undefined) {
      this.#queuedBytes -= chunk.length;
      if (this.#paused && this.#queue.length === 0) {
        this.#paused = false;
        this.#resume?.();
      }
      return Promise.resolve({ done: false, value: chunk });
    }
    if (this.#error !== null) return Promise.reject(this.#error);
    if (this.#ended) return Promise.resolve(DONE);
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
    });
  }

  /** The consumer stopped early: abort the upstream request. */
  return(): Promise<IteratorResult<Uint8Array>> {
    this.#queue = [];
    this.#queuedBytes = 0;
    if (!this.#ended && this.#error === null) {
      this.#error = new ClientAbortedError();
      this.#settle();
      this.#abort?.(this.#error);
    }
    return Promise.resolve(DONE);
  }

  /**
   * The exchange is the body itself: an object literal with a computed symbol key, made per
   * request, costs V8's slow path (~250 ns).
   */
  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Hands the waiting consumer the end or the error. */
  #wake(): void {
    const waiting = this.#waiting;
    if (waiting === null) return;
    this.#waiting = null;
    if (this.#error !== null) waiting.reject(this.#error);
    else waiting.resolve(DONE);
  }

  readonly #onAbort = (): void => {
    const error = new ClientAbortedError();
    if (!this.#headersSeen) this.#rejectResponse(error);
    else if (!this.#ended) this.#error ??= error;
    this.#settle();
    this.#abort?.(error);
    this.#wake();
  };

  /** Exactly once: stop listening to the client's signal, tell the forwarder. */
  #settle(failure?: Error): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#clientAbort.off(this.#onAbort);
    this.#onSettled(failure);
  }
}

/** `CODE: message` for logs and error details. */
export function errorDetail(error: unknown): string {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
  const message = error instanceof Error ? error.message : String(error);
  return code === '' ? message : `${code}: ${message}`;
}
