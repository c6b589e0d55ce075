// The bytes of one HTTP/1.1 connection on their way to Node's parser, scanned for request
// lines. http.sys accepts raw bytes >= 0x80 in a request-target (hg, git and browsers may
// send a non-ASCII repository name that way); llhttp answers 400. The scanner
// percent-encodes those bytes in each request-target, and only there, and remembers the
// target as sent, for UNENCODED_URL. To find the next request line it follows the message
// framing (headers, then a Content-Length or chunked body). Whatever it does not fully
// understand (CONNECT, Upgrade, obsolete line folding, both or repeated length headers,
// another transfer coding, an over-long head or chunk line) makes it stop rewriting for the
// rest of the connection: from there on the bytes pass unchanged, as before, and llhttp
// alone decides. Rewriting stays confined to what is certainly a request-target, so a body
// is never altered.

/** A request line's target as the client sent it, and as llhttp received it. */
export interface ScannedTarget {
  /** What llhttp saw (bytes >= 0x80 percent-encoded): req.url. */
  readonly encoded: string;
  /** The client's bytes, one latin1 character per byte. */
  readonly raw: string;
}

type State =
  | 'lineStart' // before a request line (empty lines are skipped, as llhttp does)
  | 'method'
  | 'target'
  | 'lineRest' // the HTTP version, to the end of the line
  | 'header'
  | 'body' // Content-Length bytes left
  | 'chunkSize'
  | 'chunkData'
  | 'chunkEnd' // the CRLF after a chunk's data
  | 'trailer'
  | 'passThrough'; // gave up: nothing is rewritten any more

/** A request head (and a chunk-size or trailer line) beyond this: not followed, passed on. */
const HEAD_LIMIT = 1 << 20;
/** Targets remembered but not yet taken (requests the host never handled, pipelining). */
const KEPT_TARGETS = 64;
const HEX = '0123456789ABCDEF';

export class TargetScanner {
  #state: State = 'lineStart';
  #line = ''; // the header or chunk line so far (latin1)
  #headBytes = 0;
  #method = '';
  #raw = '';
  #encoded = '';
  #contentLength: string | undefined;
  #transferEncoding: string | undefined;
  #upgrade = false;
  #left = 0; // body or chunk bytes still to pass
  readonly #targets: ScannedTarget[] = [];

  /** Whether the scanner gave up on this connection. */
  get passingThrough(): boolean {
    return this.#state === 'passThrough';
  }

  /**
   * The target the request llhttp parsed as `url` came with. Targets of earlier requests
   * that were never asked for (answered before the host saw them) are dropped on the way.
   */
  take(url: string): ScannedTarget | undefined {
    for (let next = this.#targets.shift(); next !== undefined; next = this.#targets.shift()) {
      if (next.encoded === url) return next;
    }
    return undefined;
  }

  /** The chunk as llhttp must see it: the same Buffer when nothing was rewritten. */
  rewrite(chunk: Buffer): Buffer {
    let parts: Buffer[] | undefined;
    let copied = 0;
    let i = 0;
    while (i < chunk.length && this.#state !== 'passThrough') {
      switch (this.#state) {
        case 'body':
        case 'chunkData': {
          const step = Math.min(this.#left, chunk.length - i);
          i += step;
          this.#left -= step;
          if (this.#left === 0) this.#state = this.#state === 'body' ? 'lineStart' : 'chunkEnd';
          break;
        }
        case 'lineRest':
        case 'header':
        case 'chunkSize':
        case 'chunkEnd':
        case 'trailer':
          i = this.#scanLine(chunk, i);
          break;
        case 'target': {
          const run = this.#plainTargetRun(chunk, i);
          if (run > i) {
            // The common case: bytes taken as they are, in one slice rather than per byte.
            const text = chunk.toString('latin1', i, run);
            this.#raw += text;
            this.#encoded += text;
            this.#countHead(run - i);
            i = run;
            break;
          }
          const byte = chunk[i] as number;
          if (byte === 0x20) {
            this.#endTarget();
          } else if (byte === 0x0d || byte === 0x0a) {
            this.#giveUp(); // no HTTP version: not a request line llhttp takes
            break;
          } else if (byte >= 0x80) {
            parts ??= [];
            const escape = `%${HEX[byte >> 4]}${HEX[byte & 15]}`;
            parts.push(chunk.subarray(copied, i), Buffer.from(escape, 'latin1'));
            copied = i + 1;
            this.#raw += String.fromCharCode(byte);
            this.#encoded += escape;
          } else {
            const char = String.fromCharCode(byte);
            this.#raw += char;
            this.#encoded += char;
          }
          i++;
          this.#countHead(1);
          break;
        }
        default:
          this.#scanByte(chunk[i] as number);
          i++;
      }
    }
    if (parts === undefined) return chunk;
    parts.push(chunk.subarray(copied));
    return Buffer.concat(parts);
  }

  // One byte outside a target, a body and chunk data.
  /**
   * The end of the target's run of bytes from `from` that pass unchanged (none of space,
   * CR, LF or >= 0x80, which the per-byte path handles).
   */
  #plainTargetRun(chunk: Buffer, from: number): number {
    let i = from;
    while (i < chunk.length) {
      const byte = chunk[i] as number;
      if (byte === 0x20 || byte === 0x0d || byte === 0x0a || byte >= 0x80) break;
      i++;
    }
    return i;
  }

  /**
   * A line state (the rest of the request line, a header, chunk-size or trailer line): the
   * bytes up to the next LF join the line in one slice (the per-byte path cost ~1.4 us per
   * small request, ~2 % of the host's CPU per request). Returns where scanning goes on.
   */
  #scanLine(chunk: Buffer, from: number): number {
    const lf = chunk.indexOf(0x0a, from);
    const end = lf === -1 ? chunk.length : lf;
    if (this.#state === 'lineRest') {
      // Only its end matters; the LF counts as part of the head.
      this.#countHead(end - from + (lf === -1 ? 0 : 1));
      if (lf !== -1 && this.#state === 'lineRest') this.#state = 'header';
      return lf === -1 ? end : lf + 1;
    }
    this.#line += chunk.toString('latin1', from, end);
    this.#countHead(end - from);
    if (lf === -1 || this.#state === 'passThrough') return end;
    this.#endLine(this.#line.endsWith('\r') ? this.#line.slice(0, -1) : this.#line);
    this.#line = '';
    return lf + 1;
  }

  /** The request line up to its target, byte by byte (a few bytes). */
  #scanByte(byte: number): void {
    switch (this.#state) {
      case 'lineStart':
        if (byte === 0x0d || byte === 0x0a) return;
        this.#startMessage();
        this.#method = String.fromCharCode(byte);
        this.#state = 'method';
        return;
      case 'method':
        if (byte === 0x20) {
          this.#state = 'target';
        } else if (byte === 0x0d || byte === 0x0a) {
          this.#giveUp();
        } else {
          this.#method += String.fromCharCode(byte);
        }
        this.#countHead(1);
    }
  }

  #startMessage(): void {
    this.#headBytes = 0;
    this.#raw = '';
    this.#encoded = '';
    this.#contentLength = undefined;
    this.#transferEncoding = undefined;
    this.#upgrade = false;
  }

  #endTarget(): void {
    if (this.#raw === '') {
      this.#giveUp();
      return;
    }
    this.#targets.push({ encoded: this.#encoded, raw: this.#raw });
    if (this.#targets.length > KEPT_TARGETS) this.#targets.shift();
    this.#state = 'lineRest';
  }

  #endLine(line: string): void {
    switch (this.#state) {
      case 'header':
        if (line === '') this.#endHead();
        else this.#header(line);
        return;
      case 'chunkSize': {
        const size = line.split(';', 1)[0]?.replace(/[ \t]+$/, '') ?? '';
        if (!/^[0-9A-Fa-f]{1,12}$/.test(size)) {
          this.#giveUp();
          return;
        }
        this.#left = parseInt(size, 16);
        this.#state = this.#left === 0 ? 'trailer' : 'chunkData';
        this.#headBytes = 0;
        return;
      }
      case 'chunkEnd':
        if (line === '') this.#state = 'chunkSize';
        else this.#giveUp();
        return;
      default: // trailer
        if (line === '') this.#state = 'lineStart';
    }
  }

  #header(line: string): void {
    const colon = line.indexOf(':');
    if (line.startsWith(' ') || line.startsWith('\t') || colon <= 0) {
      this.#giveUp(); // obsolete folding or no field name: llhttp refuses it anyway
      return;
    }
    const name = line.slice(0, colon).toLowerCase();
    if (name === 'upgrade') {
      this.#upgrade = true;
      return;
    }
    if (name !== 'content-length' && name !== 'transfer-encoding') return;
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (name === 'content-length') {
      if (this.#contentLength !== undefined || !/^\d{1,15}$/.test(value)) this.#giveUp();
      else this.#contentLength = value;
    } else {
      this.#transferEncoding =
        this.#transferEncoding === undefined ? value : `${this.#transferEncoding},${value}`;
    }
  }

  #endHead(): void {
    if (this.#method === 'CONNECT' || this.#upgrade) {
      this.#giveUp(); // the connection may stop being HTTP here
      return;
    }
    if (this.#transferEncoding !== undefined) {
      const last = this.#transferEncoding.split(',').at(-1)?.trim().toLowerCase();
      if (this.#contentLength !== undefined || last !== 'chunked') this.#giveUp();
      else this.#state = 'chunkSize';
      this.#headBytes = 0;
      return;
    }
    this.#left = Number(this.#contentLength ?? '0');
    this.#state = this.#left > 0 ? 'body' : 'lineStart';
  }

  #countHead(bytes: number): void {
    this.#headBytes += bytes;
    if (this.#headBytes > HEAD_LIMIT) this.#giveUp();
  }

  #giveUp(): void {
    this.#state = 'passThrough';
    this.#line = '';
  }
}
