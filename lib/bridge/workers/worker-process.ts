// One Kallithea worker process: python/kallithea_worker.py serving my.ini on one thread at a
// private address. started() resolves once the worker printed "ready PID" (its socket listens);
// `exited` settles when the process is gone, however it went.
//
// The lifeline is the worker's stdin: the bridge holds the write end and never writes, so
// when the bridge dies, however it dies, the worker reads EOF and exits. On POSIX the worker
// leads a process group of its own, so a Ctrl-C meant for the terminal's foreground group
// does not cut its requests before the bridge has drained them, and stop() also ends the
// hg/git processes it started.
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WorkerStartError } from '../errors.js';

/** python/kallithea_worker.py of this package (this file is dist/lib/bridge/workers/...). */
export const workerScript = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  '..',
  'python',
  'kallithea_worker.py',
);

export interface WorkerProcessOptions {
  readonly name: string;
  readonly python: string;
  /** Absolute path of my.ini; the worker runs in its folder. */
  readonly config: string;
  /** unix:/path or tcp:127.0.0.1:port. */
  readonly address: string;
  /** Given in the environment (not the command line, which any local user can read). */
  readonly hopToken: string;
  /** The worker's own output (Kallithea's log), whole lines prefixed with its name. */
  readonly output: (text: string) => void;
}

/** Lines kept for the message when a worker fails. */
const TAIL_LINES = 20;
const isPosix = process.platform !== 'win32';

export class WorkerProcess {
  readonly name: string;
  /** Resolves with how the process ended: `code 1`, `SIGKILL`, or a spawn error. */
  readonly exited: Promise<string>;
  readonly #child: ChildProcess;
  readonly #tail: string[] = [];
  #partial = '';
  #servingPid: number | undefined;

  constructor(options: WorkerProcessOptions) {
    this.name = options.name;
    const child = spawn(options.python, [workerScript, options.config, options.address], {
      cwd: dirname(options.config),
      detached: isPosix,
      env: { ...process.env, KALLITHEA_ISAPI_WORKER_TOKEN: options.hopToken },
      stdio: ['pipe', 'pipe', 'pipe'],
      windowsHide: true,
    });
    this.#child = child;
    // The lifeline: never written, never ended until stop().
    child.stdin?.on('error', () => undefined);
    child.stderr?.on('data', (chunk: Buffer) => this.#lines(chunk, options.output));
    this.exited = new Promise((done) => {
      child.once('error', (error) => done(`cannot run ${options.python}: ${error.message}`));
      // What the worker left in its group (an hg or git process) goes with it; 'close' then
      // follows once its output is read to the end, so tail() has the last words.
      child.once('exit', () => this.#killGroup());
      child.once('close', (code, signal) => done(signal ?? `code ${code}`));
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /**
   * The process that serves, as the worker said once ready: on Windows a venv's python.exe
   * launches the interpreter as its child; elsewhere it is `pid`.
   */
  get servingPid(): number | undefined {
    return this.#servingPid ?? this.pid;
  }

  /** The last lines the worker wrote, for failure messages. */
  tail(): string {
    return this.#tail.join('\n  ');
  }

  /** Resolves when the worker listens; rejects with WorkerStartError if it exits or stalls first. */
  started(timeoutMs: number): Promise<void> {
    return new Promise((done, fail) => {
      let stdout = '';
      const timer = setTimeout(() => {
        fail(
          new WorkerStartError(
            this.name,
            `not ready within ${timeoutMs / 1000} s; last lines:\n  ${this.tail()}`,
          ),
        );
        this.kill();
      }, timeoutMs);
      const onData = (chunk: Buffer): void => {
        stdout += chunk.toString('utf8');
        const ready = /^ready(?: (\d+))?\r?$/m.exec(stdout);
        if (ready === null) return;
        if (ready[1] !== undefined) this.#servingPid = Number(ready[1]);
        clearTimeout(timer);
        this.#child.stdout?.off('data', onData);
        this.#child.stdout?.resume();
        done();
      };
      this.#child.stdout?.on('data', onData);
      void this.exited.then((how) => {
        clearTimeout(timer);
        fail(
          new WorkerStartError(
            this.name,
            `exited (${how}) before it was ready; last lines:\n  ${this.tail()}`,
          ),
        );
      });
    });
  }

  /** SIGKILL to the worker and whatever it started. */
  kill(): void {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    this.#killGroup();
  }

  #killGroup(): void {
    const pid = this.#child.pid;
    if (pid === undefined || (!isPosix && this.#child.exitCode !== null)) return;
    try {
      if (isPosix) process.kill(-pid, 'SIGKILL');
      else this.#child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }

  /** Cuts the lifeline (the worker exits at once), then SIGKILL after `graceMs`. */
  async stop(graceMs: number): Promise<void> {
    this.#child.stdin?.destroy();
    const timer = setTimeout(() => this.kill(), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  #lines(chunk: Buffer, output: (text: string) => void): void {
    const text = this.#partial + chunk.toString('utf8');
    const end = text.lastIndexOf('\n');
    if (end < 0) {
      this.#partial = text.length > 64 * 1024 ? '' : text;
      return;
    }
    this.#partial = text.slice(end + 1);
    const lines = text.slice(0, end).split('\n');
    output(lines.map((line) => `[${this.name}] ${line}\n`).join(''));
    this.#tail.push(...lines);
    if (this.#tail.length > TAIL_LINES) this.#tail.splice(0, this.#tail.length - TAIL_LINES);
  }
}

/** The worker's private address: a socket in the bridge's private folder, or a loopback port. */
export function workerAddress(folder: string, name: string, port: number): string {
  return isPosix ? `unix:${join(folder, `${name}.sock`)}` : `tcp:127.0.0.1:${port}`;
}
