// A real local HTTP server standing in for Kallithea in bridge tests. Routes:
//   /stream?bytes=N[&chunked=1][&fill=B]  N bytes of generated data (patternBytes; with fill,
//                                 every byte is B), with Content-Length unless chunked=1
//   /hang                         never answers
//   /die?bytes=N                  promises 2N bytes (Content-Length), sends N, then resets
//   /status/<code>                an empty response with that status (204, 304...)
//   anything else                 JSON echo: method, raw target, raw headers, body length and
//                                 sha256 (the body is hashed as it streams, never kept)
// `events` records how each response ended: 'finish' (fully written) or 'close' (the
// connection went away first), so tests can see the bridge abort an upstream request.
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';

export interface EchoResult {
  method: string;
  target: string;
  headers: Array<[string, string]>;
  bodyBytes: number;
  bodySha256: string;
}

const PATTERN_SIZE = 64 * 1024;
/** The repeating block every generated body is made of (byte i = i * 31 + 7 mod 256). */
export const pattern: Buffer = Buffer.alloc(PATTERN_SIZE, 0).map((_, i) => (i * 31 + 7) & 0xff) as Buffer;

/** Yields `total` bytes of the pattern in blocks of up to 64 KiB. */
export function* patternBytes(total: number): Generator<Buffer> {
  let left = total;
  while (left > 0) {
    const size = Math.min(left, PATTERN_SIZE);
    yield size === PATTERN_SIZE ? pattern : pattern.subarray(0, size);
    left -= size;
  }
}

/** `total` bytes, every one `byte`, in blocks of up to 64 KiB. */
function* filledBytes(total: number, byte: number): Generator<Buffer> {
  const block = Buffer.alloc(PATTERN_SIZE, byte);
  for (let left = total; left > 0; left -= PATTERN_SIZE)
    yield block.subarray(0, Math.min(left, PATTERN_SIZE));
}

/** sha256 of `total` pattern bytes, hex. */
export function patternSha256(total: number): string {
  const hash = createHash('sha256');
  for (const block of patternBytes(total)) hash.update(block);
  return hash.digest('hex');
}

export class Upstream {
  readonly events = new EventEmitter();
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  /** Requests received, in order (method and raw target). */
  readonly requests: Array<{ method: string; target: string }> = [];
  port = 0;

  constructor() {
    this.#server = createServer((req, res) => this.#handle(req, res));
    this.#server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const target = req.url ?? '';
    this.requests.push({ method: req.method ?? '', target });
    res.on('finish', () => this.events.emit('finish', target));
    res.on('close', () => {
      if (!res.writableFinished) this.events.emit('close', target);
    });
    const url = new URL(target, 'http://upstream');
    const bytes = Number(url.searchParams.get('bytes') ?? '0');
    if (url.pathname === '/stream') {
      req.resume();
      const headers: Record<string, string | number> = { 'Content-Type': 'application/octet-stream' };
      if (url.searchParams.get('chunked') !== '1') headers['Content-Length'] = bytes;
      res.writeHead(200, headers);
      const fill = url.searchParams.get('fill');
      this.#pump(res, fill === null ? patternBytes(bytes) : filledBytes(bytes, Number(fill)));
    } else if (url.pathname === '/hang') {
      req.resume();
    } else if (url.pathname === '/die') {
      req.resume();
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': bytes * 2 });
      res.write(Buffer.alloc(bytes, 0x61), () => res.socket?.resetAndDestroy());
    } else if (url.pathname.startsWith('/status-header/')) {
      // The real status, and a `Status` header that claims another (a CGI-minded app).
      req.resume();
      res.writeHead(Number(url.pathname.slice('/status-header/'.length)), { Status: '200 OK' });
      res.end('real status');
    } else if (url.pathname.startsWith('/status/')) {
      req.resume();
      const status = Number(url.pathname.slice('/status/'.length));
      res.writeHead(status, { ETag: '"x"' });
      res.end();
    } else {
      this.#echo(req, res, target);
    }
  }

  /** Writes blocks as fast as the socket takes them (backpressure honoured). */
  #pump(res: ServerResponse, blocks: Generator<Buffer>): void {
    const next = (): void => {
      for (;;) {
        const { value, done } = blocks.next();
        if (done === true) {
          res.end();
          return;
        }
        if (!res.write(value)) {
          res.once('drain', next);
          return;
        }
      }
    };
    res.on('close', () => res.off('drain', next));
    next();
  }

  #echo(req: IncomingMessage, res: ServerResponse, target: string): void {
    const hash = createHash('sha256');
    let bodyBytes = 0;
    req.on('data', (chunk: Buffer) => {
      bodyBytes += chunk.length;
      hash.update(chunk);
    });
    req.on('end', () => {
      const headers: Array<[string, string]> = [];
      for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
        headers.push([req.rawHeaders[i] as string, req.rawHeaders[i + 1] as string]);
      }
      const result: EchoResult = {
        method: req.method ?? '',
        target: Buffer.from(target, 'latin1').toString('latin1'),
        headers,
        bodyBytes,
        bodySha256: hash.digest('hex'),
      };
      const body = Buffer.from(JSON.stringify(result));
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
  }
}

export async function startUpstream(): Promise<Upstream> {
  return new Upstream().start();
}

/**
 * Node's HTTP parser refuses raw non-ASCII bytes in a request target (waitress accepts
 * them), so raw targets are checked against this: a TCP server that reads one request head
 * (and its Content-Length body), answers with the request line's target as base64 JSON
 * (`{"target": ...}`) and closes.
 */
export async function startRawTargetUpstream(): Promise<{ origin: string; stop(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let head = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = /\r\ncontent-length: *(\d+)/i.exec(head.subarray(0, end).toString('latin1'))?.[1];
      if (head.length < end + 4 + Number(length ?? 0)) return;
      const line = head.subarray(0, head.indexOf('\r\n'));
      const target = line.subarray(line.indexOf(' ') + 1, line.lastIndexOf(' '));
      const body = JSON.stringify({ target: target.toString('base64') });
      socket.end(
        `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n` +
          `Connection: close\r\n\r\n${body}`,
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    origin: `http://127.0.0.1:${port}`,
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
