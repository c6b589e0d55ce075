// Kallithea under serve's supervision: `gearbox serve -c my.ini` from the ini's folder (so
// %(here)s and relative paths mean what they mean to the administrator), in a process group
// of its own so that stopping it also stops anything it started. start() resolves once the
// server answers HTTP; an unexpected exit is followed by a restart (a crashed or killed
// Kallithea comes back, as an IIS site's backend would under a service manager), unless it
// keeps failing.
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { request } from 'node:http';
import { dirname } from 'node:path';
import { BridgeError } from '../bridge/errors.js';

export interface KallitheaProcessOptions {
  /** Absolute path of my.ini. */
  config: string;
  /** The gearbox executable (venv/bin/gearbox). */
  gearbox: string;
  /** Where my.ini says the server listens, e.g. http://127.0.0.1:5050. */
  origin: string;
  /** How long start-up may take; default 120 s (the first start builds caches). */
  startTimeoutMs?: number;
  /** Receives gearbox's stdout and stderr. */
  output?: (chunk: Buffer) => void;
  /** Restarts after an unexpected exit, at most this many within a minute; default 5. */
  restartsPerMinute?: number;
}

/** Kept for the message when start-up fails. */
const TAIL_LINES = 30;

/** Resolves true when something answers HTTP at origin (any status), false otherwise. */
export function answersHttp(origin: string, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(new URL('/', origin), { method: 'GET', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class KallitheaProcess extends EventEmitter {
  readonly #options: Required<Omit<KallitheaProcessOptions, 'output'>> & {
    output: ((chunk: Buffer) => void) | undefined;
  };
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #stopping = false;
  #tail: string[] = [];
  #restarts: number[] = [];
  /** The child that answered HTTP; only its unexpected exit is followed by a restart. */
  #readyChild: ChildProcess | undefined;

  constructor(options: KallitheaProcessOptions) {
    super();
    this.#options = {
      startTimeoutMs: 120_000,
      restartsPerMinute: 5,
      ...options,
      output: options.output,
    };
  }

  /** The gearbox process id (also its process group id), while it runs. */
  get pid(): number | undefined {
    return this.#child?.exitCode === null && this.#child.signalCode === null ? this.#child.pid : undefined;
  }

  get origin(): string {
    return this.#options.origin;
  }

  /** Starts gearbox and waits until it answers HTTP. */
  async start(): Promise<void> {
    if (await answersHttp(this.#options.origin, 1000)) {
      throw new BridgeError(
        'ERR_SERVE_PORT_IN_USE',
        `something already answers at ${this.#options.origin}, the address ${this.#options.config} ` +
          'gives in [server:main]: stop that server (another Kallithea?) or change host/port there',
      );
    }
    await this.#launch();
  }

  async #launch(): Promise<void> {
    this.#tail = [];
    const child = spawn(this.#options.gearbox, ['serve', '-c', this.#options.config], {
      cwd: dirname(this.#options.config),
      detached: process.platform !== 'win32',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    const onOutput = (chunk: Buffer): void => {
      this.#options.output?.(chunk);
      this.#tail.push(
        ...chunk
          .toString('utf8')
          .split('\n')
          .filter((line) => line !== ''),
      );
      if (this.#tail.length > TAIL_LINES) this.#tail.splice(0, this.#tail.length - TAIL_LINES);
    };
    child.stdout?.on('data', onOutput);
    child.stderr?.on('data', onOutput);
    let spawnError: Error | undefined;
    this.#exited = new Promise<void>((resolve) => {
      child.once('error', (error) => {
        spawnError = error;
        resolve();
      });
      child.once('exit', () => resolve());
    });
    void this.#exited.then(() => this.#onExit(child));

    const deadline = Date.now() + this.#options.startTimeoutMs;
    for (;;) {
      if (spawnError !== undefined) {
        throw new BridgeError(
          'ERR_SERVE_KALLITHEA_START',
          `cannot run ${this.#options.gearbox}: ${spawnError.message} (give the venv with --venv)`,
        );
      }
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new BridgeError(
          'ERR_SERVE_KALLITHEA_START',
          `gearbox serve -c ${this.#options.config} exited (${child.exitCode ?? child.signalCode}) ` +
            `before it answered at ${this.#options.origin}; its last lines:\n  ${this.#tail.join('\n  ')}`,
        );
      }
      if (await answersHttp(this.#options.origin)) {
        this.#readyChild = child;
        return;
      }
      if (Date.now() > deadline) {
        await this.#signalAndWait();
        throw new BridgeError(
          'ERR_SERVE_KALLITHEA_START',
          `Kallithea did not answer at ${this.#options.origin} within ${this.#options.startTimeoutMs / 1000} s; ` +
            `its last lines:\n  ${this.#tail.join('\n  ')}`,
        );
      }
      await delay(200);
    }
  }

  #onExit(child: ChildProcess): void {
    if (this.#stopping || child !== this.#readyChild) return;
    const how = child.signalCode ?? `code ${child.exitCode}`;
    const now = Date.now();
    this.#restarts = this.#restarts.filter((t) => now - t < 60_000);
    if (this.#restarts.length >= this.#options.restartsPerMinute) {
      this.emit('gave-up', how, this.#tail.slice());
      return;
    }
    this.#restarts.push(now);
    this.emit('exited', how);
    void delay(500)
      .then(() => (this.#stopping ? undefined : this.#launch()))
      .then(
        () => {
          if (!this.#stopping) this.emit('restarted', this.pid);
        },
        (error: Error) => {
          if (!this.#stopping) this.emit('restart-failed', error);
        },
      );
  }

  async #signalAndWait(): Promise<void> {
    const child = this.#child;
    if (child === undefined || child.pid === undefined) return;
    const signal = (name: NodeJS.Signals): void => {
      try {
        if (process.platform === 'win32') child.kill(name);
        else process.kill(-(child.pid as number), name); // the whole process group
      } catch {
        // already gone
      }
    };
    if (child.exitCode === null && child.signalCode === null) signal('SIGTERM');
    const timer = setTimeout(() => signal('SIGKILL'), 10_000);
    await this.#exited;
    clearTimeout(timer);
    // Anything gearbox left in its group (none expected) goes too.
    signal('SIGKILL');
  }

  /** Stops Kallithea (SIGTERM to its process group, SIGKILL after 10 s) and waits for it. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#signalAndWait();
  }
}
