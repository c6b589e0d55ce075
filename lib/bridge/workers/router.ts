// Which worker takes a request. Each Kallithea worker runs one thread, so it gets one
// request at a time: a request goes to an idle ready worker; when every ready worker is
// busy it waits in a bounded FIFO queue (past the bound: 503 + Retry-After); when no worker
// is ready at all (starting, restarting, stopped by rapid-fail protection) it is 503 +
// Retry-After at once rather than a wait of unknown length. A worker stays taken until
// its lease is released, i.e. until the exchange is over, so a long clone keeps its worker.
// A worker that could not be reached (it died a moment ago; its exit is not yet seen) stays
// taken until it is reaped, so that the forwarder's retry of a GET goes to another one.
//
// Long hg/git streams (long-stream.ts) and pages: a clone of a 2 GB repository holds its
// worker for minutes, so two clones on two workers would freeze the site. Two rules, as
// prefork servers do it:
// - Reserve: a stream never takes the last worker not already held by a stream (unless no
//   stream holds any: the first clone always starts at once). Pages keep a worker ready
//   with Kallithea loaded, so a page never waits for a clone, nor for a worker to start.
// - Grow: when a request has to wait while streams hold workers (a stream refused by the
//   reserve, or a page behind busy workers), the pool starts an extra worker, up to
//   max_workers (worker-pool.ts); the oldest waiter it may serve gets it once it is ready,
//   and extras idle for worker_idle_timeout are stopped.
// The reserve alone would make a second clone wait for the first (minutes behind a 2 GB
// push); growth alone would leave pages waiting the seconds a worker takes to start, and
// past the cap, for clones. Together, a second clone waits only for a worker to start (a
// few seconds, nothing to a clone), and past the cap streams queue while pages still go.
import { ClientAbortedError, UpstreamBusyError, WorkersUnavailableError } from '../errors.js';
import type { Lease, UpstreamFigures, Upstreams } from '../forwarder/upstreams.js';
import type { UpstreamDispatcher } from '../upstream-client/pool.js';

/** One worker as the router sees it; the supervisor (worker-pool.ts) fills in the rest. */
export interface RoutedWorker {
  readonly name: string;
  readonly origin: string;
  /** Set while a ready process serves; undefined while the worker is down. */
  dispatcher: UpstreamDispatcher | undefined;
  /** Counts process generations, so a late release of a dead one cannot free the new one. */
  generation: number;
  busy: boolean;
  /** Held by a long hg/git stream. */
  stream: boolean;
  /** When it last became free (Date.now()), for stopping idle extra workers. */
  idleSince: number;
  /**
   * Still at the lower OS priority a stream gave it (stream-priority.ts: raising it back was
   * refused), so pages take other idle workers first.
   */
  lowered: boolean;
}

/** How long a worker found unreachable stays out of routing if no exit follows. */
const UNREACHABLE_HOLD_MS = 1000;

interface Waiter {
  readonly signal: AbortSignal;
  readonly stream: boolean;
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
  /**
   * A request waits while streams hold workers: start an extra worker if the pool may grow
   * (it decides: cap, workers already starting, back-off after failures).
   */
  readonly grow: () => void;
  /** A stream took `worker` (true) or ended on it (false): the pool sets its OS priority. */
  readonly streaming?: (worker: RoutedWorker, started: boolean) => void;
  /**
   * The first page in flight took a worker (true), or the last one in flight ended (false):
   * streams need to give way to pages only while there are pages (stream-priority.ts).
   */
  readonly pages?: (inFlight: boolean) => void;
  readonly close: () => Promise<void>;
  readonly destroy: () => Promise<void>;
}

export class Router implements Upstreams {
  readonly #workers: readonly RoutedWorker[];
  readonly #options: RouterOptions;
  readonly #queue: Waiter[] = [];
  #pagesInFlight = 0;

  constructor(workers: readonly RoutedWorker[], options: RouterOptions) {
    this.#workers = workers;
    this.#options = options;
  }

  get queued(): number {
    return this.#queue.length;
  }

  /** Requests waiting for a worker; `streams` of them are long hg/git streams. */
  get waiting(): { all: number; streams: number } {
    return { all: this.#queue.length, streams: this.#queue.filter((w) => w.stream).length };
  }

  /** Workers held by long hg/git streams now. */
  get streamsHeld(): number {
    return this.#workers.filter((worker) => worker.busy && worker.stream).length;
  }

  acquire(signal: AbortSignal, stream = false): Lease | Promise<Lease> {
    const ready = this.#workers.filter((worker) => worker.dispatcher !== undefined);
    if (ready.length === 0) {
      throw new WorkersUnavailableError(this.#options.describeDown(), this.#options.retryAfter);
    }
    const idle = this.#pick(stream);
    if (idle !== undefined) return this.#lease(idle, stream);
    if (this.#queue.length >= this.#options.maxQueued) {
      throw new UpstreamBusyError(this.#queue.length, this.#options.retryAfter);
    }
    if (signal.aborted) throw new ClientAbortedError();
    const waiting = new Promise<Lease>((resolve, reject) => {
      const waiter: Waiter = {
        signal,
        stream,
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
    if (this.streamsHeld > 0) this.#options.grow();
    return waiting;
  }

  /**
   * A worker became ready or free: waiting requests that may take an idle worker get one,
   * pages first (they are short; a stream they overtake waits for a page's length), each
   * kind oldest first.
   */
  workerAvailable(): void {
    for (const stream of [false, true]) {
      for (let i = 0; i < this.#queue.length;) {
        const waiter = this.#queue[i] as Waiter;
        const worker = waiter.stream === stream ? this.#pick(stream) : undefined;
        if (worker === undefined) {
          i += 1;
          continue;
        }
        this.#queue.splice(i, 1);
        waiter.signal.removeEventListener('abort', waiter.onAbort);
        waiter.resolve(this.#lease(worker, stream));
      }
    }
  }

  /**
   * The worker a request takes now, if any: pages the first idle one at normal priority (else
   * the first idle one), streams the last one (the newest: extra workers carry the streams,
   * so the base ones stay with the pages and the extras fall idle and stop once the streams
   * end).
   */
  #pick(stream: boolean): RoutedWorker | undefined {
    const allowed = this.#workers.filter((worker) => this.#mayTake(worker, stream));
    return stream ? allowed.at(-1) : (allowed.find((worker) => !worker.lowered) ?? allowed[0]);
  }

  /**
   * Whether a request may take `worker` now: it must be ready and idle, and a stream must
   * leave a ready worker that no stream holds (the reserve), unless no stream holds any.
   */
  #mayTake(worker: RoutedWorker, stream: boolean): boolean {
    if (worker.busy || worker.dispatcher === undefined) return false;
    if (!stream) return true;
    const held = this.streamsHeld;
    if (held === 0) return true;
    const ready = this.#workers.filter((w) => w.dispatcher !== undefined).length;
    return ready - (held + 1) >= 1;
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

  #lease(worker: RoutedWorker, stream: boolean): Lease {
    worker.busy = true;
    worker.stream = stream;
    // Before the request goes out, so a page never runs while a stream competes at full priority.
    if (stream) this.#options.streaming?.(worker, true);
    else if ((this.#pagesInFlight += 1) === 1) this.#options.pages?.(true);
    const generation = worker.generation;
    let released = false;
    return {
      dispatcher: worker.dispatcher as UpstreamDispatcher,
      origin: worker.origin,
      worker: worker.name,
      hopToken: this.#options.hopToken,
      release: (unreachable = false) => {
        if (released) return;
        released = true;
        // Counted even if the worker was reaped meanwhile: the page is over either way.
        if (!stream && (this.#pagesInFlight -= 1) === 0) this.#options.pages?.(false);
        if (generation !== worker.generation) return;
        const free = (): void => {
          if (generation !== worker.generation) return; // reaped: the supervisor reset it
          if (worker.stream) this.#options.streaming?.(worker, false);
          worker.busy = false;
          worker.stream = false;
          worker.idleSince = Date.now();
          this.workerAvailable();
        };
        if (unreachable) setTimeout(free, UNREACHABLE_HOLD_MS).unref();
        else free();
      },
    };
  }
}
