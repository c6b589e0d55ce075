// The FastCGI responder's listening side: binds a unix:, tcp: or pipe: address
// (listen-address.ts), accepts web server connections and gives each to a
// FastCgiConnection (connection.ts), which turns its records into handler calls. close()
// is graceful: stop accepting, let requests in flight finish until a deadline, then cut.
import { chmod } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { FastCgiConnection, type Logger } from './connection.js';
import type { FastCgiHandler } from './handler.js';
import {
  formatListenAddress,
  parseListenAddress,
  prepareUnixSocketPath,
  type ListenAddress,
} from './listen-address.js';
import type { ParserLimits } from './record-parser.js';
import { createSecretCheck, type SecretCheck } from './secret.js';

export interface FastCgiServerOptions {
  readonly handler: FastCgiHandler;
  /** The hop secret every request must carry in SECRET_PARAM (see handler.ts). */
  readonly secret: string;
  /** Where connection problems are reported, one line each. Default: stderr. */
  readonly log?: Logger;
  /** Simultaneous connections; more are refused. Also the FCGI_MAX_CONNS answer. Default 256. */
  readonly maxConnections?: number;
  readonly limits?: ParserLimits;
  /** Request body bytes buffered per request before the socket is paused. Default 64 KiB. */
  readonly stdinHighWaterMark?: number;
  /**
   * A new connection must deliver its first whole request head (BEGIN_REQUEST and PARAMS with
   * the secret) within this many ms, or it is closed: a local process cannot hold sockets
   * open by connecting and saying nothing. Default 10 s.
   */
  readonly handshakeTimeoutMs?: number;
}

export class FastCgiServer {
  readonly #server: Server;
  readonly #connections = new Set<FastCgiConnection>();
  readonly #handler: FastCgiHandler;
  readonly #checkSecret: SecretCheck;
  readonly #log: Logger;
  readonly #maxConnections: number;
  readonly #limits: ParserLimits;
  readonly #stdinHighWaterMark: number;
  readonly #handshakeTimeoutMs: number;
  #accepted = 0;

  constructor(options: FastCgiServerOptions) {
    this.#handler = options.handler;
    this.#checkSecret = createSecretCheck(options.secret);
    this.#log = options.log ?? ((line) => process.stderr.write(line + '\n'));
    this.#maxConnections = options.maxConnections ?? 256;
    this.#limits = options.limits ?? {};
    this.#stdinHighWaterMark = options.stdinHighWaterMark ?? 64 * 1024;
    this.#handshakeTimeoutMs = options.handshakeTimeoutMs ?? 10_000;
    this.#server = createServer((socket) => this.#accept(socket));
    this.#server.maxConnections = this.#maxConnections;
  }

  /** Connections accepted since start (tests count kept-alive reuse with it). */
  get acceptedConnections(): number {
    return this.#accepted;
  }

  /** Binds `address` and resolves with the address bound (tcp port 0 -> the real port). */
  async listen(address: string): Promise<string> {
    const parsed = parseListenAddress(address);
    if (parsed.kind === 'unix') {
      await prepareUnixSocketPath(parsed.path);
      await this.#bind(parsed.path, () => process.umask(0o177));
      // Belt and braces: the umask already made it 0600 where umask can be set.
      await chmod(parsed.path, 0o600);
      return formatListenAddress(parsed);
    }
    if (parsed.kind === 'pipe') {
      await this.#bind(parsed.path);
      return formatListenAddress(parsed);
    }
    await this.#bind({ host: parsed.host, port: parsed.port });
    const bound = this.#server.address() as AddressInfo;
    return formatListenAddress({
      kind: 'tcp',
      host: bound.address,
      port: bound.port,
    } satisfies ListenAddress);
  }

  /**
   * Stops accepting, ends idle connections, waits up to `deadlineMs` for requests in
   * flight, then destroys what is left.
   */
  async close(deadlineMs = 30_000): Promise<void> {
    const stopped = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const connection of this.#connections) connection.closeWhenIdle();
    const allClosed = Promise.all([...this.#connections].map((connection) => connection.closed));
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((resolve) => {
      timer = setTimeout(() => resolve('deadline'), deadlineMs);
    });
    if ((await Promise.race([allClosed, deadline])) === 'deadline') {
      this.#log(`fastcgi: shutdown deadline passed, cutting ${this.#connections.size} connection(s)`);
      for (const connection of this.#connections) connection.destroy();
    }
    clearTimeout(timer);
    await stopped;
  }

  #accept(socket: Socket): void {
    this.#accepted += 1;
    // Records go out as soon as they are whole; Nagle would hold the END_REQUEST of a
    // small response back for the peer's delayed ACK (40 ms per request on TCP).
    socket.setNoDelay(true);
    const peer =
      socket.remoteAddress === undefined ? 'local' : `${socket.remoteAddress}:${socket.remotePort}`;
    let handshake: NodeJS.Timeout | undefined = setTimeout(() => {
      this.#log(
        `fastcgi: ${peer} sent no whole request within ${this.#handshakeTimeoutMs / 1000} s; closing`,
      );
      connection.destroy();
    }, this.#handshakeTimeoutMs);
    const handler = this.#handler;
    const connection = new FastCgiConnection(socket, {
      // The handler runs once a request's PARAMS passed the secret check: the handshake is done.
      handler: (request) => {
        if (handshake !== undefined) {
          clearTimeout(handshake);
          handshake = undefined;
        }
        return handler(request);
      },
      checkSecret: this.#checkSecret,
      log: this.#log,
      limits: this.#limits,
      maxConnections: this.#maxConnections,
      stdinHighWaterMark: this.#stdinHighWaterMark,
    });
    this.#connections.add(connection);
    void connection.closed.then(() => {
      clearTimeout(handshake);
      this.#connections.delete(connection);
    });
  }

  /** server.listen() as a promise; `during` runs around the synchronous bind (the umask). */
  #bind(target: string | { host: string; port: number }, during?: () => number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      this.#server.once('error', onError);
      let restore: number | undefined;
      try {
        restore = during?.();
      } catch {
        restore = undefined; // umask cannot be set in a worker thread; chmod still runs
      }
      try {
        this.#server.listen(target, () => {
          this.#server.off('error', onError);
          resolve();
        });
      } finally {
        if (restore !== undefined) process.umask(restore);
      }
    });
  }
}
