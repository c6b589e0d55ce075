// Which worker takes a request. Each Kallithea worker runs one thread, so it gets one
// request at a time: a request goes to an idle ready worker; when every ready worker is
// busy it waits in a bounded FIFO queue (past the bound: 503 + Retry-After); when no worker
// is ready at all (starting, restarting, stopped by rapid-fail protection) it is 503 +
// Retry-After at once rather than a wait of unknown length. A worker stays taken until
// its lease is released, i.e. until the exchange is over, so a long clone keeps its worker.
// A worker that could not be reached (it died a moment ago; its exit is not yet seen) stays
// taken until it is reaped, so that the forwarder's retry of a GET goes to another one.
import type { Dispatcher } from 'undici';
import { ClientAbortedError, UpstreamBusyError, WorkersUnavailableError } from '../errors.js';
import type { Lease, UpstreamFigures, Upstreams } from '../forwarder/upstreams.js';

/** One worker as the router sees it; the supervisor (worker-pool.ts) fills in the rest. */
export interface RoutedWorker {
  readonly name: string;
  readonly origin: string;
  /** Set while a ready process serves; undefined while the worker is down. */
  dispatcher: Dispatcher | undefined;
  /** Counts process generations, so a late release of a dead one cannot free the new one. */
  generation: number;
  busy: boolean;
}

/** How long a worker found unreachable stays out of routing if no exit follows. */
const UNREACHABLE_HOLD_MS = 1000;

interface Waiter {
  readonly signal: AbortSignal;
  readonly resolve: (lease: Lease) => void;
  readonly reject: (error: unknown) => void;
  readonly onAbort: () => void;
}

export interface RouterOptions {
  /** The workers' secret for X-Kallithea-Isapi. */
  readonly hopToken: string;
  readonly maxQueued: number;
  /** Seconds for Retry-After. */
  readonly retryAfter: number;
  /** Why no worker is ready, for the 503's log line. */
  readonly describeDown: () => string;
  readonly close: () => Promise<void>;
  readonly destroy: () => Promise<void>;
}

export class Router implements Upstreams {
  readonly #workers: readonly RoutedWorker[];
  readonly #options: RouterOptions;
  readonly #queue: Waiter[] = [];

  constructor(workers: readonly RoutedWorker[], options: RouterOptions) {
    this.#workers = workers;
    this.#options = options;
  }

  get queued(): number {
    return this.#queue.length;
  }

  acquire(signal: AbortSignal): Lease | Promise<Lease> {
    let anyReady = false;
    for (const worker of this.#workers) {
      if (worker.dispatcher === undefined) continue;
      anyReady = true;
      if (!worker.busy) return this.#lease(worker);
    }
    if (!anyReady) throw new WorkersUnavailableError(this.#options.describeDown(), this.#options.retryAfter);
    if (this.#queue.length >= this.#options.maxQueued) {
      throw new UpstreamBusyError(this.#queue.length, this.#options.retryAfter);
    }
    if (signal.aborted) throw new ClientAbortedError();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        signal,
        resolve,
        reject,
        onAbort: () => {
          const index = this.#queue.indexOf(waiter);
          if (index >= 0) this.#queue.splice(index, 1);
          reject(new ClientAbortedError());
        },
      };
      signal.addEventListener('abort', waiter.onAbort, { once: true });
      this.#queue.push(waiter);
    });
  }

  /** A worker became ready or free: give it the oldest waiting request. */
  workerAvailable(worker: RoutedWorker): void {
    if (worker.busy || worker.dispatcher === undefined) return;
    const waiter = this.#queue.shift();
    if (waiter === undefined) return;
    waiter.signal.removeEventListener('abort', waiter.onAbort);
    waiter.resolve(this.#lease(worker));
  }

  /** A worker went down: if none is left ready, the waiting requests get the 503 now. */
  workerDown(): void {
    if (this.#workers.some((worker) => worker.dispatcher !== undefined)) return;
    const error = new WorkersUnavailableError(this.#options.describeDown(), this.#options.retryAfter);
    for (const waiter of this.#queue.splice(0)) {
      waiter.signal.removeEventListener('abort', waiter.onAbort);
      waiter.reject(error);
    }
  }

  figures(): UpstreamFigures {
    const ready = this.#workers.filter((worker) => worker.dispatcher !== undefined);
    const busy = ready.filter((worker) => worker.busy).length;
    return {
      inFlight: busy,
      queued: this.#queue.length,
      connections: ready.length,
      idleConnections: ready.length - busy,
      maxConnections: this.#workers.length,
    };
  }

  close(): Promise<void> {
    return this.#options.close();
  }

  destroy(): Promise<void> {
    return this.#options.destroy();
  }

  #lease(worker: RoutedWorker): Lease {
    worker.busy = true;
    const generation = worker.generation;
    let released = false;
    return {
      dispatcher: worker.dispatcher as Dispatcher,
      origin: worker.origin,
      worker: worker.name,
      hopToken: this.#options.hopToken,
      release: (unreachable = false) => {
        if (released || generation !== worker.generation) return;
        released = true;
        const free = (): void => {
          if (generation !== worker.generation) return; // reaped: the supervisor reset it
          worker.busy = false;
          this.workerAvailable(worker);
        };
        if (unreachable) setTimeout(free, UNREACHABLE_HOLD_MS).unref();
        else free();
      },
    };
  }
}
