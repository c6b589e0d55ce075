// The connections to one upstream: up to `connections` kept alive, requests beyond that
// wait in a FIFO queue. The forwarder dispatches a request with its handler; the pool
// gives it the most recently used idle connection (warm, and the others may expire),
// opens one if allowed, or queues it. A connection comes back only from a clean exchange
// (connection.ts) and stays idle as long as the upstream said it would keep it
// (Keep-Alive: timeout=N, less a margin), else IDLE_MS: reusing one the upstream is
// closing at that moment would fail a request for nothing.
import { clientError, POOL_CLOSED } from './errors.js';
import {
  Connection,
  type ConnectionOptions,
  type ExchangeHandler,
  type UpstreamAddress,
} from './connection.js';
import { requestHead, type UpstreamRequest } from './request.js';

/** What the forwarder and the router hold: one upstream they dispatch requests to. */
export interface UpstreamDispatcher {
  dispatch(request: UpstreamRequest, handler: ExchangeHandler): void;
  readonly stats: PoolStats;
  /** Waits for the requests in flight and queued, then closes every connection. */
  close(): Promise<void>;
  /** Closes every connection now; requests in flight and queued fail. */
  destroy(): Promise<void>;
}

export interface PoolStats {
  /** Exchanges in progress. */
  readonly running: number;
  /** Requests waiting for a connection. */
  readonly pending: number;
  /** Open connections. */
  readonly connected: number;
  /** Of them, the idle ones. */
  readonly free: number;
}

export interface PoolOptions extends ConnectionOptions {
  readonly connections: number;
}

/** Idle time when the upstream gives no Keep-Alive hint (undici's default). */
const IDLE_MS = 4000;
/** Taken off the upstream's hint, for the time our request takes to reach it. */
const HINT_MARGIN_MS = 1000;
const MAX_IDLE_MS = 600_000;
/** How often idle connections past their time are closed. */
const SWEEP_MS = 1000;

interface Waiting {
  readonly request: UpstreamRequest;
  readonly head: string;
  readonly handler: ExchangeHandler;
}

const DESTROYED = 'UND_ERR_DESTROYED';

export class UpstreamPool implements UpstreamDispatcher {
  readonly #address: UpstreamAddress;
  /** host:port for a request without Host. */
  readonly #host: string;
  readonly #options: PoolOptions;
  readonly #all = new Set<Connection>();
  /** Idle connections, most recently used last. */
  readonly #idle: Connection[] = [];
  readonly #queue: Waiting[] = [];
  #running = 0;
  #closing = false;
  #closed: (() => void) | null = null;
  #sweep: NodeJS.Timeout | null = null;

  /** `origin`: http://host:port; or a Unix socket's path with `unix:` before it. */
  constructor(origin: string, options: PoolOptions) {
    if (origin.startsWith('unix:')) {
      this.#address = { path: origin.slice('unix:'.length) };
      this.#host = 'localhost';
    } else {
      const url = new URL(origin);
      if (url.protocol !== 'http:') throw new TypeError(`not an http: origin: ${origin}`);
      const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
      this.#address = { host, port: Number(url.port || 80) };
      this.#host = url.host;
    }
    this.#options = options;
  }

  get stats(): PoolStats {
    return {
      running: this.#running,
      pending: this.#queue.length,
      connected: this.#all.size,
      free: this.#idle.length,
    };
  }

  dispatch(request: UpstreamRequest, handler: ExchangeHandler): void {
    if (this.#closing) return handler.onError(clientError(POOL_CLOSED, 'the upstream pool is closed'));
    let head: string;
    try {
      head = requestHead(request, this.#host);
    } catch (error) {
      return handler.onError(error as Error);
    }
    const connection = this.#takeIdle() ?? (this.#all.size < this.#options.connections ? this.#open() : null);
    if (connection === null) this.#queue.push({ request, head, handler });
    else this.#run(connection, request, head, handler);
  }

  close(): Promise<void> {
    this.#closing = true;
    if (this.#running === 0 && this.#queue.length === 0) {
      this.#shutDown();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.#closed = resolve;
    });
  }

  destroy(): Promise<void> {
    this.#closing = true;
    const error = clientError(DESTROYED, 'the upstream pool was destroyed');
    for (const waiting of this.#queue.splice(0)) waiting.handler.onError(error);
    for (const connection of [...this.#all]) connection.destroy(error);
    this.#shutDown();
    return Promise.resolve();
  }

  #run(connection: Connection, request: UpstreamRequest, head: string, handler: ExchangeHandler): void {
    this.#running += 1;
    connection.run(request, head, handler);
  }

  #open(): Connection {
    const connection = new Connection(this.#address, this.#options, {
      exchangeEnded: (ended, reusable) => this.#exchangeEnded(ended, reusable),
      idleClosed: (gone) => this.#forget(gone),
    });
    this.#all.add(connection);
    return connection;
  }

  /** The most recently used idle connection still within its keep-alive time. */
  #takeIdle(): Connection | null {
    const now = Date.now();
    for (let connection = this.#idle.pop(); connection !== undefined; connection = this.#idle.pop()) {
      if (!connection.closed && now - connection.idleSince < connection.keepAliveMs) return connection;
      this.#forget(connection);
      connection.destroy(clientError(POOL_CLOSED, 'idle connection expired'));
    }
    return null;
  }

  #exchangeEnded(connection: Connection, reusable: boolean): void {
    this.#running -= 1;
    if (!reusable) this.#forget(connection);
    const next = this.#queue.shift();
    if (next !== undefined) {
      const free = reusable ? connection : this.#open();
      this.#run(free, next.request, next.head, next.handler);
    } else if (reusable) {
      const hint = connection.keepAliveMs;
      connection.keepAliveMs = hint > 0 ? Math.min(Math.max(hint - HINT_MARGIN_MS, 0), MAX_IDLE_MS) : IDLE_MS;
      connection.idleSince = Date.now();
      this.#idle.push(connection);
      this.#sweep ??= setInterval(() => this.#sweepIdle(), SWEEP_MS).unref();
    }
    if (this.#closing && this.#running === 0 && this.#queue.length === 0) this.#shutDown();
  }

  #forget(connection: Connection): void {
    this.#all.delete(connection);
    const index = this.#idle.indexOf(connection);
    if (index >= 0) this.#idle.splice(index, 1);
  }

  #sweepIdle(): void {
    const now = Date.now();
    for (const connection of [...this.#idle]) {
      if (now - connection.idleSince < connection.keepAliveMs) continue;
      this.#forget(connection);
      connection.destroy(clientError(POOL_CLOSED, 'idle connection expired'));
    }
    if (this.#idle.length === 0 && this.#sweep !== null) {
      clearInterval(this.#sweep);
      this.#sweep = null;
    }
  }

  #shutDown(): void {
    if (this.#sweep !== null) clearInterval(this.#sweep);
    this.#sweep = null;
    for (const connection of this.#idle.splice(0)) {
      this.#all.delete(connection);
      connection.destroy(clientError(POOL_CLOSED, 'the upstream pool is closed'));
    }
    const closed = this.#closed;
    this.#closed = null;
    closed?.();
  }
}
