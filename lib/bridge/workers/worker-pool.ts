// The bridge's pool of Kallithea workers: N processes (worker-process.ts), each supervised
// in a loop of its own: start, wait for "ready", serve through one upstream
// client pool (connections = 1, as the worker has one thread), and after an unexpected exit restart with
// back-off. A worker that fails rapid_fails_per_minute times within a minute is not
// restarted again (rapid-fail protection, as IIS does for an application pool), with one
// clear log line; the others go on serving. stop() is the drain's last step: by then the
// bridge has let requests in flight finish, so it cuts the lifelines and kills stragglers.
//
// Extra workers (router.ts says when the router asks for one): beyond the `workers` base
// ones, up to `maxWorkers`, started once each (no restart: a new one is started when asked
// again), stopped gracefully once idle for `idleTimeout` seconds. One that fails to start
// pauses growth for a back-off, so a broken my.ini does not spawn Kallithea in a loop.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { poolOptions, type UpstreamTimeouts } from '../forwarder/upstreams.js';
import { UpstreamPool } from '../upstream-client/pool.js';
import { Router, type RoutedWorker } from './router.js';
import { lowerPriority, restorePriority, sessionPriority, type NormalPriority } from './stream-priority.js';
import { workerAddress, WorkerProcess } from './worker-process.js';

export interface WorkerPoolOptions {
  readonly python: string;
  /** Absolute path of my.ini. */
  readonly config: string;
  readonly workers: number;
  /** Workers at most, extras included (>= workers). */
  readonly maxWorkers: number;
  /** Seconds an extra worker stays idle before it is stopped. */
  readonly idleTimeout: number;
  /** Run a worker serving a long hg/git stream below normal priority (stream-priority.ts). */
  readonly lowerStreamPriority: boolean;
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

export type WorkerState = 'starting' | 'ready' | 'backoff' | 'failed' | 'stopping' | 'stopped';

export interface WorkerStatus {
  readonly name: string;
  readonly state: WorkerState;
  readonly pid: number | undefined;
  readonly address: string;
  readonly busy: boolean;
  /** Started beyond `workers` while hg/git streams held workers; stopped when idle. */
  readonly extra: boolean;
  readonly restarts: number;
  /** Why it last stopped or failed to start, with its last line of output. */
  readonly lastFailure: string | undefined;
}

interface Slot extends RoutedWorker {
  readonly extra: boolean;
  state: WorkerState;
  address: string;
  process: WorkerProcess | undefined;
  /** What this process is raised back to after a lowering; read at its first lowering. */
  normal: NormalPriority | undefined;
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
/** How often idle extra workers are looked for, at most. */
const IDLE_CHECK_MS = 1000;
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

function newSlot(name: string, extra: boolean): Slot {
  return {
    name,
    origin: `worker ${name}`,
    dispatcher: undefined,
    generation: 0,
    busy: false,
    stream: false,
    idleSince: 0,
    lowered: false,
    extra,
    state: 'starting',
    address: '',
    process: undefined,
    normal: undefined,
    failures: [],
    restarts: 0,
    lastFailure: undefined,
  };
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
  /** Extra workers that failed to start lately, and no growth before this time. */
  #growthFailures = 0;
  #growthPausedUntil = 0;
  /** The OS priority workers' threads are started with (the bridge's own) and raised back to. */
  readonly #normalPriority = getPriority();
  #priorityRefusalLogged = false;
  /** Pages are in flight: streams give way to them only then. */
  #pagesInFlight = false;
  readonly #idleCheck: NodeJS.Timeout;

  private constructor(options: WorkerPoolOptions, folder: string) {
    this.#options = options;
    this.#folder = folder;
    for (let i = 1; i <= options.workers; i += 1) this.#slots.push(newSlot(`w${i}`, false));
    this.router = new Router(this.#slots, {
      hopToken: this.#hopToken,
      maxQueued: options.maxQueued,
      retryAfter: RETRY_AFTER,
      describeDown: () => this.#describe(),
      grow: () => this.#grow(),
      streaming: (worker, started) => this.#streaming(worker as Slot, started),
      pages: (inFlight) => this.#pages(inFlight),
      close: () => this.stop(),
      destroy: () => this.stop(),
    });
    const every = Math.min(IDLE_CHECK_MS, (options.idleTimeout * 1000) / 2);
    this.#idleCheck = setInterval(() => this.#stopIdleExtras(), every).unref();
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
      extra: slot.extra,
      restarts: slot.restarts,
      lastFailure: slot.lastFailure,
    }));
  }

  /** Cuts every lifeline, kills what is left after a grace time, removes the sockets' folder. */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      this.#stopping.abort();
      clearInterval(this.#idleCheck);
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
      slot.normal = undefined;
      // An extra worker is started because streams hold the others, and loading Kallithea
      // takes seconds of CPU: it loads below normal priority, so the pages do not pay for it.
      const startedLow = slot.extra && this.#lower(slot, worker.pid);
      let why: string;
      try {
        await worker.started(this.#options.startTimeout * 1000);
        if (signal.aborted) break;
        const client = this.#client(slot.address);
        slot.generation += 1;
        slot.busy = false;
        slot.idleSince = Date.now();
        slot.dispatcher = client;
        slot.lowered = startedLow;
        slot.state = 'ready';
        this.#raise(slot);
        if (slot.extra) this.#growthFailures = 0;
        log(
          `worker ${slot.name} ready (pid ${worker.pid}, ${slot.address})${slot.extra ? ', an extra one' : ''}`,
        );
        this.router.workerAvailable();
        const how = await worker.exited;
        slot.dispatcher = undefined;
        slot.generation += 1;
        slot.busy = false;
        // Its request in flight, if any, fails now (the response is aborted, never complete).
        void client.destroy();
        if ((slot.state as WorkerState) === 'stopping') {
          log(`worker ${slot.name} stopped (${how}); ${this.#slots.length - 1} workers`);
          break;
        }
        this.router.workerDown();
        why = `exited (${how})`;
      } catch (error) {
        why = (error as Error).message.split('\n')[0] ?? String(error);
        if (worker.tail() !== '') why += `; last line: ${worker.tail().split('\n  ').at(-1)}`;
      }
      if (signal.aborted) break;
      slot.lastFailure = why;
      if (slot.extra) {
        this.#extraFailed(slot, why);
        return;
      }
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
    if (slot.extra) this.#remove(slot);
  }

  /** The router has a request waiting while streams hold workers: one more, if allowed. */
  #grow(): void {
    if (this.#stopping.signal.aborted || Date.now() < this.#growthPausedUntil) return;
    if (this.#slots.length >= this.#options.maxWorkers) return;
    // One new worker per waiting request at most: the ones starting already count.
    const starting = this.#slots.filter((slot) => slot.state === 'starting').length;
    if (starting >= this.router.waiting.all) return;
    let n = this.#options.workers + 1;
    while (this.#slots.some((slot) => slot.name === `w${n}`)) n += 1;
    const slot = newSlot(`w${n}`, true);
    this.#slots.push(slot);
    const { all, streams } = this.router.waiting;
    this.#options.log(
      `worker ${slot.name} starting, an extra one: hg/git streams hold ${this.router.streamsHeld} of ` +
        `${this.#slots.length - 1} workers, ${all} request(s) wait (${streams} streams); at most ${this.#options.maxWorkers}`,
    );
    this.#loops.push(this.#supervise(slot));
  }

  /**
   * A stream took the worker or ended on it. It runs below normal priority only while pages
   * are in flight: alone, a lowered clone would give its CPU to the host, the bridge and
   * anything else on the machine (a clone took 1.5-1.8 x its direct time that way).
   */
  #streaming(slot: Slot, started: boolean): void {
    if (slot.state !== 'ready') return;
    if (started && this.#pagesInFlight)
      slot.lowered = this.#lower(slot, slot.process?.servingPid) || slot.lowered;
    else if (!started) this.#raise(slot);
  }

  /** The first page started, or the last one ended: the streams' workers go down or back up. */
  #pages(inFlight: boolean): void {
    this.#pagesInFlight = inFlight;
    for (const slot of this.#slots) {
      if (slot.state !== 'ready' || !slot.busy || !slot.stream) continue;
      if (inFlight) slot.lowered = this.#lower(slot, slot.process?.servingPid) || slot.lowered;
      else this.#raise(slot);
    }
  }

  /** Lowers a worker's process below normal priority (stream-priority.ts), if configured. */
  #lower(slot: Slot, pid: number | undefined): boolean {
    if (!this.#options.lowerStreamPriority || pid === undefined) return false;
    // Read once per process, before its first lowering: later it would read the lowered value.
    slot.normal ??= { threads: this.#normalPriority, session: sessionPriority(pid) };
    return lowerPriority(pid, slot.normal);
  }

  /** Raises a lowered worker back to normal priority; says once if the system refuses. */
  #raise(slot: Slot): void {
    const pid = slot.process?.servingPid;
    if (!slot.lowered || pid === undefined || slot.normal === undefined) return;
    slot.lowered = !restorePriority(pid, slot.normal);
    if (slot.lowered && !this.#priorityRefusalLogged) {
      this.#priorityRefusalLogged = true;
      this.#options.log(
        `worker ${slot.name} stays below normal priority after an hg/git stream or its start ` +
          `as an extra worker: raising a priority back was refused (on Linux it needs ` +
          `CAP_SYS_NICE); pages go to other workers first, and an extra worker stops once idle`,
      );
    }
  }

  /** Extra workers idle for idleTimeout: out of routing at once, then their lifeline is cut. */
  #stopIdleExtras(): void {
    const now = Date.now();
    for (const slot of this.#slots) {
      if (!slot.extra || slot.state !== 'ready' || slot.busy) continue;
      if (now - slot.idleSince < this.#options.idleTimeout * 1000) continue;
      slot.state = 'stopping';
      slot.dispatcher = undefined;
      slot.generation += 1;
      this.#options.log(
        `worker ${slot.name} idle for ${this.#options.idleTimeout} s: stopping it ` +
          `(${this.#slots.length - 1} workers left)`,
      );
      void slot.process?.stop(STOP_GRACE_MS);
    }
  }

  #extraFailed(slot: Slot, why: string): void {
    this.#growthFailures += 1;
    const pause = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** this.#growthFailures);
    this.#growthPausedUntil = Date.now() + pause;
    this.#options.log(`worker ${slot.name} (an extra one) ${why}; no extra worker for ${pause / 1000} s`);
    slot.state = 'stopped';
    this.#remove(slot);
    this.router.workerDown();
  }

  #remove(slot: Slot): void {
    const index = this.#slots.indexOf(slot);
    if (index >= 0) this.#slots.splice(index, 1);
  }

  /** One connection: a worker serves one request at a time. */
  #client(address: string): UpstreamPool {
    const options = poolOptions(this.#options.timeouts, 1);
    if (address.startsWith('unix:')) return new UpstreamPool(address, options);
    return new UpstreamPool(`http://${address.slice('tcp:'.length)}`, options);
  }

  #describe(): string {
    return this.#slots.map((slot) => `${slot.name} ${slot.state}`).join(', ');
  }
}
