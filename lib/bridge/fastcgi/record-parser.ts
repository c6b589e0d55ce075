// The one FastCGI record parser: bytes in (from a socket), decoded records out. It is
// resumable — a record split across socket reads at any byte picks up where it stopped,
// because every piece of state lives in this object — and it returns ok / again / error
// instead of throwing. connection.ts feeds it the web server's bytes; the test client
// feeds it the responder's.
//
// PARAMS records are gathered here into one name-value map, handed out at the empty
// PARAMS record that ends the stream, so the params limits are enforced where the bytes
// arrive: a record that would pass the limit is refused from its header, before its body
// is buffered. `bufferedBytes` says how much the parser holds at any moment.
import {
  BridgeError,
  FastCgiMalformedRecordError,
  FastCgiParamsTooLargeError,
  FastCgiUnexpectedRecordError,
  FastCgiVersionError,
} from '../errors.js';
import { decodePairMap, decodePairs } from './name-value.js';
import { FCGI_HEADER_LEN, FCGI_VERSION_1, RecordType } from './protocol.js';

export type FastCgiRecord =
  | { kind: 'begin-request'; type: number; requestId: number; role: number; flags: number }
  | { kind: 'abort-request'; type: number; requestId: number }
  | { kind: 'end-request'; type: number; requestId: number; appStatus: number; protocolStatus: number }
  /** The whole PARAMS stream of a request, at its closing empty record. */
  | { kind: 'params'; type: number; requestId: number; params: Map<string, string> }
  /** STDIN, STDOUT, STDERR or DATA; empty `content` ends that stream. */
  | { kind: 'stream'; type: number; requestId: number; content: Buffer }
  | { kind: 'get-values'; type: number; requestId: number; names: string[] }
  | { kind: 'get-values-result'; type: number; requestId: number; values: Map<string, string> }
  | { kind: 'unknown-type'; type: number; requestId: number; unknownType: number }
  /** A record type FastCGI 1.0 does not define. */
  | { kind: 'other'; type: number; requestId: number; content: Buffer };

export type ParseResult =
  { status: 'ok'; record: FastCgiRecord } | { status: 'again' } | { status: 'error'; error: BridgeError };

export interface ParserLimits {
  /** Bytes of one request's whole PARAMS stream (default 1 MiB: hg's X-HgArg headers). */
  maxParamsBytes?: number;
  /** Name-value pairs in one PARAMS stream or one GET_VALUES record (default 1000). */
  maxParams?: number;
}

export const DEFAULT_MAX_PARAMS_BYTES = 1024 * 1024;
export const DEFAULT_MAX_PARAMS = 1000;

/** Fixed body sizes of the record types that have one. */
const FIXED_CONTENT_LENGTH = new Map<number, number>([
  [RecordType.BeginRequest, 8],
  [RecordType.EndRequest, 8],
  [RecordType.UnknownType, 8],
]);

type State = 'header' | 'content' | 'padding';

export class RecordParser {
  readonly #peer: string;
  readonly #maxParamsBytes: number;
  readonly #maxParams: number;

  #state: State = 'header';
  #error: BridgeError | null = null;

  // The chunk being parsed and the position in it; the caller owns the chunk.
  #input: Buffer = Buffer.alloc(0);
  #at = 0;

  // The record in progress.
  readonly #header = Buffer.alloc(FCGI_HEADER_LEN);
  #headerFilled = 0;
  #type = 0;
  #requestId = 0;
  #contentLength = 0;
  #paddingLeft = 0;
  /** Body bytes gathered across chunks; null when the body is sliced from one chunk. */
  #content: Buffer | null = null;
  #contentFilled = 0;

  // The PARAMS stream in progress.
  #paramsRequestId = -1;
  #paramsParts: Buffer[] = [];
  #paramsBytes = 0;

  /** @param peer who sends these bytes, for messages: "web server sent ..." */
  constructor(peer: string, limits: ParserLimits = {}) {
    this.#peer = peer;
    this.#maxParamsBytes = limits.maxParamsBytes ?? DEFAULT_MAX_PARAMS_BYTES;
    this.#maxParams = limits.maxParams ?? DEFAULT_MAX_PARAMS;
  }

  /** Bytes the parser itself holds: a partial header, a partial body, a partial PARAMS stream. */
  get bufferedBytes(): number {
    return this.#headerFilled + (this.#content?.length ?? 0) + this.#paramsBytes;
  }

  /** True between records: nothing of a record has arrived yet. */
  get atRecordBoundary(): boolean {
    return this.#state === 'header' && this.#headerFilled === 0;
  }

  /** Hands the parser the next chunk. Call parse() until it says 'again' before the next one. */
  input(chunk: Buffer): void {
    if (this.#at < this.#input.length)
      throw new Error('RecordParser.input() before the last chunk was parsed');
    this.#input = chunk;
    this.#at = 0;
  }

  /** The next record from the input, 'again' when more bytes are needed, or the error. */
  parse(): ParseResult {
    if (this.#error !== null) return { status: 'error', error: this.#error };
    try {
      for (;;) {
        if (this.#state === 'header') {
          if (!this.#readHeader()) return { status: 'again' };
        }
        if (this.#state === 'content') {
          const content = this.#readContent();
          if (content === null) return { status: 'again' };
          this.#state = this.#paddingLeft > 0 ? 'padding' : 'header';
          const record = this.#decode(content);
          if (record !== null) return { status: 'ok', record };
        }
        if (this.#state === 'padding') {
          const skip = Math.min(this.#paddingLeft, this.#input.length - this.#at);
          this.#at += skip;
          this.#paddingLeft -= skip;
          if (this.#paddingLeft > 0) return { status: 'again' };
          this.#state = 'header';
        }
      }
    } catch (error) {
      return this.#fail(
        error instanceof BridgeError ? error : new FastCgiMalformedRecordError(this.#peer, String(error)),
      );
    }
  }

  #fail(error: BridgeError): ParseResult {
    this.#error = error;
    // Let go of everything: a failed parser holds nothing.
    this.#content = null;
    this.#headerFilled = 0;
    this.#paramsParts = [];
    this.#paramsBytes = 0;
    this.#input = Buffer.alloc(0);
    this.#at = 0;
    return { status: 'error', error };
  }

  /** Fills the 8-byte header; checks each field once its bytes are in. */
  #readHeader(): boolean {
    const take = Math.min(FCGI_HEADER_LEN - this.#headerFilled, this.#input.length - this.#at);
    this.#input.copy(this.#header, this.#headerFilled, this.#at, this.#at + take);
    this.#at += take;
    this.#headerFilled += take;
    if (this.#headerFilled >= 1 && this.#header[0] !== FCGI_VERSION_1) {
      throw new FastCgiVersionError(this.#peer, this.#header[0] ?? 0);
    }
    if (this.#headerFilled < FCGI_HEADER_LEN) return false;

    const h = this.#header;
    this.#type = h[1]!;
    this.#requestId = (h[2]! << 8) | h[3]!;
    this.#contentLength = (h[4]! << 8) | h[5]!;
    this.#paddingLeft = h[6]!;
    this.#headerFilled = 0;
    this.#checkHeader();
    this.#content = null;
    this.#contentFilled = 0;
    this.#state = 'content';
    return true;
  }

  /** Refuses, from the header alone, a record whose body cannot be right. */
  #checkHeader(): void {
    const fixed = FIXED_CONTENT_LENGTH.get(this.#type);
    if (fixed !== undefined && this.#contentLength !== fixed) {
      throw new FastCgiMalformedRecordError(
        this.#peer,
        `type ${this.#type} with a body of ${this.#contentLength} bytes, not ${fixed}`,
      );
    }
    if (this.#type === RecordType.Params) {
      if (this.#paramsRequestId !== -1 && this.#paramsRequestId !== this.#requestId) {
        throw new FastCgiUnexpectedRecordError(
          this.#peer,
          `PARAMS for request ${this.#requestId} while those of request ${this.#paramsRequestId} are unfinished`,
        );
      }
      if (this.#paramsBytes + this.#contentLength > this.#maxParamsBytes) {
        throw new FastCgiParamsTooLargeError(this.#peer, this.#maxParamsBytes);
      }
    }
  }

  /** The whole body of the record in progress, or null while bytes are missing. */
  #readContent(): Buffer | null {
    const available = this.#input.length - this.#at;
    if (this.#content === null && available >= this.#contentLength) {
      // The whole body is in this chunk: hand out a view of it, no copy.
      const content = this.#input.subarray(this.#at, this.#at + this.#contentLength);
      this.#at += this.#contentLength;
      return content;
    }
    this.#content ??= Buffer.allocUnsafe(this.#contentLength);
    const take = Math.min(this.#contentLength - this.#contentFilled, available);
    this.#input.copy(this.#content, this.#contentFilled, this.#at, this.#at + take);
    this.#at += take;
    this.#contentFilled += take;
    if (this.#contentFilled < this.#contentLength) return null;
    const content = this.#content;
    this.#content = null;
    return content;
  }

  /** A record from its body; null for a PARAMS record that only adds to the stream. */
  #decode(content: Buffer): FastCgiRecord | null {
    const requestId = this.#requestId;
    const type = this.#type;
    switch (type) {
      case RecordType.BeginRequest:
        return {
          kind: 'begin-request',
          type,
          requestId,
          role: (content[0]! << 8) | content[1]!,
          flags: content[2]!,
        };
      case RecordType.AbortRequest:
        return { kind: 'abort-request', type, requestId };
      case RecordType.EndRequest:
        return {
          kind: 'end-request',
          type,
          requestId,
          appStatus: content.readUInt32BE(0),
          protocolStatus: content[4]!,
        };
      case RecordType.Params:
        return this.#addParams(content);
      case RecordType.Stdin:
      case RecordType.Stdout:
      case RecordType.Stderr:
      case RecordType.Data:
        return { kind: 'stream', type, requestId, content };
      case RecordType.GetValues:
        return {
          kind: 'get-values',
          type,
          requestId,
          names: decodePairs(content, this.#peer, this.#maxParams).map(([name]) => name),
        };
      case RecordType.GetValuesResult:
        return {
          kind: 'get-values-result',
          type,
          requestId,
          values: decodePairMap(content, this.#peer, this.#maxParams),
        };
      case RecordType.UnknownType:
        return { kind: 'unknown-type', type, requestId, unknownType: content[0]! };
      default:
        return { kind: 'other', type, requestId, content };
    }
  }

  #addParams(content: Buffer): FastCgiRecord | null {
    if (content.length > 0) {
      this.#paramsRequestId = this.#requestId;
      // Copied: a view would keep the whole socket chunk alive behind a few bytes.
      this.#paramsParts.push(Buffer.from(content));
      this.#paramsBytes += content.length;
      return null;
    }
    const parts = this.#paramsParts;
    const block = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, this.#paramsBytes);
    this.#paramsParts = [];
    this.#paramsBytes = 0;
    this.#paramsRequestId = -1;
    const params = decodePairMap(block, this.#peer, this.#maxParams);
    return { kind: 'params', type: RecordType.Params, requestId: this.#requestId, params };
  }
}
