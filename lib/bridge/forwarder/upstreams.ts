// Where the forwarder sends a request: a Lease names the dispatcher for one request and is
// released exactly once when that request's exchange is over (complete, failed, aborted).
// Two sources: one external Kallithea behind a keep-alive pool (ExternalUpstream, here), or
// the bridge's own pool of Kallithea workers (workers/router.ts), one request per worker.
// Both speak through the bridge's own HTTP/1.1 client (upstream-client/).
import { maxHeaderSize } from 'node:http';
import { UpstreamBusyError } from '../errors.js';
import { UpstreamPool, type PoolOptions, type UpstreamDispatcher } from '../upstream-client/pool.js';

export interface Lease {
  readonly dispatcher: UpstreamDispatcher;
  /** For messages: http://host:port, or the worker's socket. */
  readonly origin: string;
  /** The worker's name for the access log; undefined for an external Kallithea. */
  readonly worker: string | undefined;
  /**
   * The secret the bridge's workers trust X-Kallithea-Isapi with (the client's address and
   * scheme, see python/kallithea_worker.py); undefined for an external Kallithea.
   */
  readonly hopToken: string | undefined;
  /**
   * `unreachable`: the connection failed before any response byte (refused, reset, closed),
   * as when the worker has just died and the bridge has not yet seen it exit; the router
   * then gives that worker no new request until the supervisor has reaped it (or a short
   * while has passed, should it still be alive).
   */
  release(unreachable?: boolean): void;
}

/** What the status page shows of the way to Kallithea. */
export interface UpstreamFigures {
  /** Requests holding a connection or worker. */
  readonly inFlight: number;
  /** Requests waiting for one. */
  readonly queued: number;
  /** Open connections to Kallithea (with workers: the ready workers). */
  readonly connections: number;
  /** Of them, the idle ones. */
  readonly idleConnections: number;
  /** The most there may be (max_connections, or the number of workers). */
  readonly maxConnections: number;
}

export interface Upstreams {
  /**
   * A lease now, one once a worker is free, or a BridgeError (busy, unavailable, aborted).
   * `longStream`: the request is an hg/git clone, pull or push (workers/long-stream.ts).
   */
  acquire(signal: AbortSignal, longStream?: boolean): Lease | Promise<Lease>;
  figures(): UpstreamFigures;
  close(): Promise<void>;
  destroy(): Promise<void>;
}

export interface UpstreamTimeouts {
  /** Seconds to establish a connection. */
  readonly connectTimeout: number;
  /** Seconds from sending the request to receiving the response headers. */
  readonly headersTimeout: number;
  /** Seconds of silence allowed between two body chunks (long: slow clones). */
  readonly bodyTimeout: number;
  /**
   * TCP keep-alive probes on upstream connections (default true). false only for the Wine
   * test stack: Wine fails setKeepAlive(true, delay) on a connecting socket ("UNKNOWN connect").
   */
  readonly tcpKeepAlive?: boolean;
}

const SECONDS = 1000;

/**
 * The client's options. The response head limit is Node's (--max-http-header-size,
 * 16 KiB by default), as it was with undici.
 */
export function poolOptions(timeouts: UpstreamTimeouts, connections: number): PoolOptions {
  return {
    connections,
    connectTimeoutMs: timeouts.connectTimeout * SECONDS,
    headersTimeoutMs: timeouts.headersTimeout * SECONDS,
    bodyTimeoutMs: timeouts.bodyTimeout * SECONDS,
    tcpKeepAlive: timeouts.tcpKeepAlive ?? true,
    maxHeaderBytes: maxHeaderSize,
  };
}

/** Kallithea run by someone else at an address: a keep-alive pool, bounded waiting. */
export class ExternalUpstream implements Upstreams {
  readonly #pool: UpstreamPool;
  readonly #origin: string;
  readonly #limit: number;
  readonly #maxConnections: number;
  #inFlight = 0;
  readonly #lease: Lease;

  constructor(origin: string, timeouts: UpstreamTimeouts, maxConnections: number, maxWaiting: number) {
    this.#origin = origin.startsWith('unix:') ? origin : new URL(origin).origin;
    this.#pool = new UpstreamPool(this.#origin, poolOptions(timeouts, maxConnections));
    this.#limit = maxConnections + maxWaiting;
    this.#maxConnections = maxConnections;
    // One shared lease: the pool queues by itself, only the count needs releasing.
    this.#lease = {
      dispatcher: this.#pool,
      origin: this.#origin,
      worker: undefined,
      hopToken: undefined,
      release: () => void (this.#inFlight -= 1),
    };
  }

  acquire(): Lease {
    if (this.#inFlight >= this.#limit) throw new UpstreamBusyError(this.#inFlight, 5);
    this.#inFlight += 1;
    return this.#lease;
  }

  figures(): UpstreamFigures {
    const stats = this.#pool.stats;
    return {
      inFlight: stats.running,
      queued: stats.pending,
      connections: stats.connected,
      idleConnections: stats.free,
      maxConnections: this.#maxConnections,
    };
  }

  close(): Promise<void> {
    return this.#pool.close();
  }

  destroy(): Promise<void> {
    return this.#pool.destroy();
  }
}
