// The response side of one HTTP/1.1 exchange, parsed straight out of the socket's read
// buffer: the head (status line, headers), then the body as Content-Length, chunked (with
// trailers, which are read and dropped) or delimited by the connection's close. Body bytes
// are handed on as views of the read buffer; whoever keeps one must copy it, because the
// buffer is reused for the next read (connection.ts).
//
// Strict where leniency would let a lying upstream smuggle or cut a response: a repeated
// or non-numeric Content-Length, Content-Length with Transfer-Encoding, chunk sizes that
// are not hexadecimal or exceed 2^52, a chunk not followed by CRLF, a head over the limit,
// bytes that cannot be in a header. Every size is a plain number checked to be a safe
// integer, so bodies over 4 GiB are counted exactly.
import {
  BAD_CHUNK,
  BAD_CONTENT_LENGTH,
  BAD_STATUS,
  clientError,
  HEADERS_OVERFLOW,
  MALFORMED_RESPONSE,
} from './errors.js';

export interface ResponseEvents {
  /** The final response head (1xx interim responses are skipped). */
  head(statusCode: number, statusText: string, rawHeaders: string[]): void;
  /** A view of body bytes in the read buffer: valid only during this call. */
  body(chunk: Buffer): void;
}

const enum State {
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkEnd,
  Trailers,
  UntilClose,
  Done,
}

const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
const LF = 0x0a;
const STATUS_LINE = /^HTTP\/1\.([01]) ([0-9]{3})(?: ([^\r\n]*))?$/;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// eslint-disable-next-line no-control-regex -- control bytes are what is refused
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;
const DIGITS = /^[0-9]{1,16}$/;
/** 13 hex digits hold 2^52 - 1: always a safe integer. */
const CHUNK_SIZE = /^([0-9A-Fa-f]{1,13})[ \t]*(?:;[^\r\n]*)?$/;
/** A chunk-size line or a trailer line longer than this is a peer playing games. */
const MAX_LINE = 8 * 1024;

const SP = 0x20;
const HTAB = 0x09;

/**
 * The header line's value from `from` on, without the whitespace around it (RFC 9112, 5.1).
 * A scan, not a regex replace: the replace was ~70 ns per header line, most of a head's parse.
 */
function fieldValue(line: string, from: number): string {
  let start = from;
  let end = line.length;
  while (start < end && isOws(line.charCodeAt(start))) start += 1;
  while (end > start && isOws(line.charCodeAt(end - 1))) end -= 1;
  return line.slice(start, end);
}

function isOws(code: number): boolean {
  return code === SP || code === HTAB;
}

export class ResponseParser {
  readonly #events: ResponseEvents;
  readonly #maxHeaderBytes: number;
  #state = State.Done;
  #bodiless = false;
  /** Head bytes of an unfinished head, carried from earlier reads. */
  #pendingHead: Buffer | null = null;
  /** An unfinished chunk-size or trailer line, carried from earlier reads (latin1). */
  #line = '';
  #trailerBytes = 0;
  /** Body bytes still expected (Content-Length, or the current chunk). */
  #remaining = 0;
  #keepAlive = false;
  #keepAliveHintMs: number | undefined = undefined;
  #sawByte = false;

  constructor(events: ResponseEvents, maxHeaderBytes: number) {
    this.#events = events;
    this.#maxHeaderBytes = maxHeaderBytes;
  }

  /** Ready for the response to a new request; HEAD's response never has a body. */
  reset(headRequest: boolean): void {
    this.#state = State.Head;
    this.#bodiless = headRequest;
    this.#pendingHead = null;
    this.#line = '';
    this.#trailerBytes = 0;
    this.#remaining = 0;
    this.#keepAlive = false;
    this.#keepAliveHintMs = undefined;
    this.#sawByte = false;
  }

  get done(): boolean {
    return this.#state === State.Done;
  }

  /** Any byte of this response seen yet (a close before it means the request went unanswered). */
  get started(): boolean {
    return this.#sawByte;
  }

  /** The connection may carry another exchange after this response (decided by its head). */
  get keepAlive(): boolean {
    return this.#keepAlive;
  }

  /** Keep-Alive: timeout=N from the head, in ms, if the upstream sent one. */
  get keepAliveHintMs(): number | undefined {
    return this.#keepAliveHintMs;
  }

  /** The connection closed: true when that is the end of a close-delimited body. */
  endsAtClose(): boolean {
    if (this.#state !== State.UntilClose) return false;
    this.#state = State.Done;
    return true;
  }

  /**
   * Parses data[start, end). Returns where the response ended (<= end) once done, else end.
   * Throws an UpstreamClientError for a malformed response.
   */
  execute(data: Buffer, start: number, end: number): number {
    if (start < end) this.#sawByte = true;
    let at = start;
    while (at < end && this.#state !== State.Done) {
      switch (this.#state) {
        case State.Head:
          at = this.#head(data, at, end);
          break;
        case State.Length:
        case State.ChunkData:
        case State.UntilClose:
          at = this.#bodyBytes(data, at, end);
          break;
        case State.ChunkSize:
        case State.ChunkEnd:
        case State.Trailers:
          at = this.#chunkLine(data, at, end);
          break;
      }
    }
    return at;
  }

  // --- the head ---

  #head(data: Buffer, start: number, end: number): number {
    // Only [start, end) is this read's: the rest of the shared read buffer is stale bytes
    // of earlier reads, which a search must never see.
    let view = data.subarray(start, end);
    let carried = 0;
    if (this.#pendingHead !== null) {
      carried = this.#pendingHead.length;
      view = Buffer.concat([this.#pendingHead, view]);
      this.#pendingHead = null;
    }
    const found = view.indexOf(HEAD_END);
    const headBytes = found < 0 ? view.length : found + HEAD_END.length;
    if (headBytes > this.#maxHeaderBytes) {
      throw clientError(HEADERS_OVERFLOW, `response head over ${this.#maxHeaderBytes} bytes`);
    }
    if (found < 0) {
      // Copied: `data` is the reused read buffer.
      this.#pendingHead = carried === 0 ? Buffer.from(view) : view;
      return end;
    }
    this.#parseHead(view.toString('latin1', 0, found));
    // Where the head ended in `data`: the carried bytes were before `start`.
    return start + headBytes - carried;
  }

  #parseHead(text: string): void {
    const lines = text.split('\r\n');
    const status = STATUS_LINE.exec(lines[0] as string);
    if (status === null) {
      throw clientError(BAD_STATUS, `not an HTTP/1.x status line: ${JSON.stringify(lines[0]?.slice(0, 80))}`);
    }
    const statusCode = Number(status[2]);
    const http10 = status[1] === '0';
    const headers: string[] = [];
    let contentLength: string | undefined;
    let transferEncoding: string | undefined;
    let connection = '';
    for (let i = 1; i < lines.length; i += 1) {
      const line = lines[i] as string;
      const colon = line.indexOf(':');
      const name = colon > 0 ? line.slice(0, colon) : '';
      if (!TOKEN.test(name)) throw clientError(MALFORMED_RESPONSE, `malformed header line ${i}`);
      const value = fieldValue(line, colon + 1);
      if (BAD_VALUE.test(value)) throw clientError(MALFORMED_RESPONSE, `control byte in header ${name}`);
      headers.push(name, value);
      switch (name.length === 10 || name.length === 14 || name.length === 17 ? name.toLowerCase() : '') {
        case 'content-length':
          if (contentLength !== undefined) throw clientError(BAD_CONTENT_LENGTH, 'repeated Content-Length');
          contentLength = value;
          break;
        case 'transfer-encoding':
          transferEncoding = transferEncoding === undefined ? value : `${transferEncoding}, ${value}`;
          break;
        case 'connection':
          connection += `,${value.toLowerCase()}`;
          break;
        case 'keep-alive':
          this.#keepAliveHintMs = keepAliveHint(value);
          break;
      }
    }
    if (statusCode < 200) {
      // 100 Continue, 103 Early Hints: interim, the final head follows. 101 would switch
      // protocols, which this client never asks for.
      if (statusCode === 101) throw clientError(MALFORMED_RESPONSE, 'unrequested 101 Switching Protocols');
      this.#keepAliveHintMs = undefined;
      return;
    }
    const closing = /(?:^|,)\s*close\s*(?:,|$)/.test(connection);
    this.#keepAlive = http10 ? /(?:^|,)\s*keep-alive\s*(?:,|$)/.test(connection) : !closing;
    this.#frame(statusCode, contentLength, transferEncoding);
    this.#events.head(statusCode, status[3] ?? '', headers);
  }

  /** How the body is delimited (RFC 9112, 6.3). */
  #frame(statusCode: number, contentLength: string | undefined, transferEncoding: string | undefined): void {
    if (contentLength !== undefined && transferEncoding !== undefined) {
      throw clientError(BAD_CONTENT_LENGTH, 'Content-Length with Transfer-Encoding');
    }
    if (this.#bodiless || statusCode === 204 || statusCode === 304) {
      this.#state = State.Done;
      return;
    }
    if (transferEncoding !== undefined) {
      const codings = transferEncoding.toLowerCase().split(',');
      if ((codings.at(-1) as string).trim() === 'chunked') {
        this.#state = State.ChunkSize;
      } else {
        this.#state = State.UntilClose;
        this.#keepAlive = false;
      }
      return;
    }
    if (contentLength !== undefined) {
      if (!DIGITS.test(contentLength) || !Number.isSafeInteger(Number(contentLength))) {
        throw clientError(BAD_CONTENT_LENGTH, `Content-Length ${JSON.stringify(contentLength.slice(0, 40))}`);
      }
      this.#remaining = Number(contentLength);
      this.#state = this.#remaining === 0 ? State.Done : State.Length;
      return;
    }
    this.#state = State.UntilClose;
    this.#keepAlive = false;
  }

  // --- the body ---

  #bodyBytes(data: Buffer, start: number, end: number): number {
    if (this.#state === State.UntilClose) {
      this.#events.body(data.subarray(start, end));
      return end;
    }
    const take = Math.min(this.#remaining, end - start);
    this.#remaining -= take;
    if (this.#remaining === 0) this.#state = this.#state === State.Length ? State.Done : State.ChunkEnd;
    // The state is set first: the consumer may look at `done` from inside body().
    this.#events.body(data.subarray(start, start + take));
    return start + take;
  }

  /** A CRLF-terminated line of the chunked framing: a size, the CRLF after data, a trailer. */
  #chunkLine(data: Buffer, start: number, end: number): number {
    const newline = data.indexOf(LF, start);
    if (newline < 0 || newline >= end) {
      this.#line += data.toString('latin1', start, end);
      if (this.#line.length > MAX_LINE) throw clientError(BAD_CHUNK, 'chunked framing line too long');
      return end;
    }
    const line = this.#line + data.toString('latin1', start, newline);
    this.#line = '';
    if (!line.endsWith('\r') || line.length > MAX_LINE) {
      throw clientError(BAD_CHUNK, 'chunked framing line not ended by CRLF');
    }
    this.#chunkStep(line.slice(0, -1));
    return newline + 1;
  }

  #chunkStep(line: string): void {
    if (this.#state === State.ChunkEnd) {
      if (line !== '') throw clientError(BAD_CHUNK, 'chunk data longer than its size');
      this.#state = State.ChunkSize;
    } else if (this.#state === State.ChunkSize) {
      const size = CHUNK_SIZE.exec(line);
      if (size === null) throw clientError(BAD_CHUNK, `chunk size ${JSON.stringify(line.slice(0, 40))}`);
      this.#remaining = parseInt(size[1] as string, 16);
      this.#state = this.#remaining === 0 ? State.Trailers : State.ChunkData;
    } else {
      // Trailers are read to find the end, and dropped: nothing downstream takes them.
      if (line === '') {
        this.#state = State.Done;
        return;
      }
      this.#trailerBytes += line.length + 2;
      if (this.#trailerBytes > this.#maxHeaderBytes) {
        throw clientError(HEADERS_OVERFLOW, `trailers over ${this.#maxHeaderBytes} bytes`);
      }
      if (!(line.indexOf(':') > 0)) throw clientError(MALFORMED_RESPONSE, 'malformed trailer line');
    }
  }
}

/** `timeout=N` of a Keep-Alive header, in ms. */
function keepAliveHint(value: string): number | undefined {
  const match = /(?:^|[,;\s])timeout=\s*([0-9]{1,9})/i.exec(value);
  return match === null ? undefined : Number(match[1]) * 1000;
}
