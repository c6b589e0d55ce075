// The bridge's pool of Kallithea workers: N processes (worker-process.ts), each supervised
// in a loop of its own: start, wait for "ready", serve through one undici Client
// (connections = 1, as the worker has one thread), and after an unexpected exit restart with
// back-off. A worker that fails rapid_fails_per_minute times within a minute is not
// restarted again (rapid-fail protection, as IIS does for an application pool), with one
// clear log line; the others go on serving. stop() is the drain's last step: by then the
// bridge has let requests in flight finish, so it cuts the lifelines and kills stragglers.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'undici';
import { dispatcherOptions, type UpstreamTimeouts } from '../forwarder/upstreams.js';
import { Router, type RoutedWorker } from './router.js';
import { workerAddress, WorkerProcess } from './worker-process.js';

export interface WorkerPoolOptions {
  readonly python: string;
  /** Absolute path of my.ini. */
  readonly config: string;
  readonly workers: number;
  /** Seconds a worker may take to load Kallithea and listen. */
  readonly startTimeout: number;
  readonly rapidFailsPerMinute: number;
  /** Requests allowed to wait for a busy worker before 503. */
  readonly maxQueued: number;
  readonly timeouts: UpstreamTimeouts;
  /** Lifecycle lines (start, exit, restart, rapid-fail). */
  readonly log: (line: string) => void;
  /** The workers' own output (Kallithea's log), each line prefixed with the worker's name. */
  readonly output: (text: string) => void;
}

export type WorkerState = 'starting' | 'ready' | 'backoff' | 'failed' | 'stopped';

export interface WorkerStatus {
  readonly name: string;
  readonly state: WorkerState;
  readonly pid: number | undefined;
  readonly address: string;
  readonly busy: boolean;
  readonly restarts: number;
  /** Why it last stopped or failed to start, with its last line of output. */
  readonly lastFailure: string | undefined;
}

interface Slot extends RoutedWorker {
  state: WorkerState;
  address: string;
  process: WorkerProcess | undefined;
  failures: number[];
  restarts: number;
  lastFailure: string | undefined;
}

const MINUTE = 60_000;
const FIRST_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 30_000;
/** After the drain: how long a worker whose lifeline was cut may take to exit. */
const STOP_GRACE_MS = 5_000;
const RETRY_AFTER = 5;
const isPosix = process.platform !== 'win32';

/** A loopback port free now, for a worker where Unix sockets are not used (Windows). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

export class WorkerPool {
  readonly router: Router;
  readonly #options: WorkerPoolOptions;
  readonly #folder: string;
  readonly #slots: Slot[] = [];
  readonly #stopping = new AbortController();
  /** Per pool: the workers trust X-Kallithea-Isapi only with it (python/kallithea_worker.py). */
  readonly #hopToken = randomBytes(32).toString('hex');
  #loops: Promise<void>[] = [];
  #rapidFailLogged = false;
  #stopped: Promise<void> | undefined;

  private constructor(options: WorkerPoolOptions, folder: string) {
    this.#options = options;
    this.#folder = folder;
    for (let i = 1; i <= options.workers; i += 1) {
      this.#slots.push({
        name: `w${i}`,
        origin: `worker w${i}`,
        dispatcher: undefined,
        generation: 0,
        busy: false,
        state: 'starting',
        address: '',
        process: undefined,
        failures: [],
        restarts: 0,
        lastFailure: undefined,
      });
    }
    this.router = new Router(this.#slots, {
      hopToken: this.#hopToken,
      maxQueued: options.maxQueued,
      retryAfter: RETRY_AFTER,
      describeDown: () => this.#describe(),
      close: () => this.stop(),
      destroy: () => this.stop(),
    });
  }

  /** Starts every worker; resolves at once (requests before the first is ready get 503). */
  static async start(options: WorkerPoolOptions): Promise<WorkerPool> {
    // mkdtemp makes the folder 0700: only the bridge's user reaches the sockets in it.
    const folder = await mkdtemp(join(tmpdir(), 'kallithea-isapi-workers-'));
    const pool = new WorkerPool(options, folder);
    pool.#loops = pool.#slots.map((slot) => pool.#supervise(slot));
    return pool;
  }

  status(): WorkerStatus[] {
    return this.#slots.map((slot) => ({
      name: slot.name,
      state: slot.state,
      pid: slot.state === 'ready' || slot.state === 'starting' ? slot.process?.pid : undefined,
      address: slot.address,
      busy: slot.busy,
      restarts: slot.restarts,
      lastFailure: slot.lastFailure,
    }));
  }

  /** Cuts every lifeline, kills what is left after a grace time, removes the sockets' folder. */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      this.#stopping.abort();
      await Promise.all(this.#slots.map((slot) => slot.process?.stop(STOP_GRACE_MS)));
      await Promise.all(this.#loops);
      await rm(this.#folder, { recursive: true, force: true });
    })();
    return this.#stopped;
  }

  async #supervise(slot: Slot): Promise<void> {
    const { log } = this.#options;
    const signal = this.#stopping.signal;
    while (!signal.aborted) {
      slot.state = 'starting';
      slot.address = workerAddress(this.#folder, slot.name, isPosix ? 0 : await freeLoopbackPort());
      const worker = new WorkerProcess({
        name: slot.name,
        python: this.#options.python,
        config: this.#options.config,
        address: slot.address,
        hopToken: this.#hopToken,
        output: this.#options.output,
      });
      slot.process = worker;
      let why: string;
      try {
        await worker.started(this.#options.startTimeout * 1000);
        if (signal.aborted) break;
        const client = this.#client(slot.address);
        slot.generation += 1;
        slot.busy = false;
        slot.dispatcher = client;
        slot.state = 'ready';
        log(`worker ${slot.name} ready (pid ${worker.pid}, ${slot.address})`);
        this.router.workerAvailable(slot);
        const how = await worker.exited;
        slot.dispatcher = undefined;
        slot.generation += 1;
        slot.busy = false;
        // Its request in flight, if any, fails now (the response is aborted, never complete).
        void client.destroy();
        this.router.workerDown();
        why = `exited (${how})`;
      } catch (error) {
        why = (error as Error).message.split('\n')[0] ?? String(error);
        if (worker.tail() !== '') why += `; last line: ${worker.tail().split('\n  ').at(-1)}`;
      }
      if (signal.aborted) break;
      slot.lastFailure = why;
      const now = Date.now();
      slot.failures = slot.failures.filter((t) => now - t < MINUTE);
      slot.failures.push(now);
      if (slot.failures.length >= this.#options.rapidFailsPerMinute) {
        slot.state = 'failed';
        if (!this.#rapidFailLogged) {
          this.#rapidFailLogged = true;
          log(
            `worker ${slot.name} failed ${slot.failures.length} times within a minute (${why}); ` +
              `rapid-fail protection: it is not restarted again. Fix the cause (run ` +
              `'kallithea-isapi check'), then recycle the application pool`,
          );
        }
        this.router.workerDown();
        return;
      }
      const backoff = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** (slot.failures.length - 1));
      slot.state = 'backoff';
      log(`worker ${slot.name} ${why}; restarting it in ${backoff / 1000} s`);
      await sleep(backoff, undefined, { signal }).catch(() => undefined);
      slot.restarts += 1;
    }
    slot.state = 'stopped';
  }

  #client(address: string): Client {
    const options = dispatcherOptions(this.#options.timeouts);
    if (address.startsWith('unix:')) {
      return new Client('http://localhost', { ...options, socketPath: address.slice('unix:'.length) });
    }
    return new Client(`http://${address.slice('tcp:'.length)}`, options);
  }

  #describe(): string {
    return this.#slots.map((slot) => `${slot.name} ${slot.state}`).join(', ');
  }
}
