// Follows log files the way `tail -F` does, for `kallithea-isapi trace`: new complete lines as
// they are written, a file that is replaced (rotation: the path names a new file) is read from
// its start after the old one's last lines, and a file that shrinks (truncation) is read again
// from its start. Polling, not fs.watch: it behaves the same on NTFS, SMB shares and Linux, and
// a log written by another process (w3wp.exe) may not raise change events at all.
import { type FileHandle, open, stat } from 'node:fs/promises';

export type FollowEvent =
  { kind: 'line'; file: string; line: string } | { kind: 'notice'; file: string; message: string };

interface Followed {
  file: string;
  handle: FileHandle | undefined;
  ino: number;
  dev: number;
  position: number;
  partial: string;
  missingReported: boolean;
}

/** The last `count` lines of `file` (reading at most its last `maxBytes`). */
export async function lastLines(
  file: string,
  count: number,
  maxBytes = 4 * 1024 * 1024,
): Promise<{ lines: string[]; size: number }> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const start = Math.max(0, size - maxBytes);
    const buffer = Buffer.alloc(size - start);
    await handle.read(buffer, 0, buffer.length, start);
    let lines = buffer.toString('utf8').split(/\r?\n/);
    if (start > 0) lines = lines.slice(1); // the first line is cut
    if (lines.at(-1) === '') lines.pop();
    return { lines: count >= 0 ? lines.slice(Math.max(0, lines.length - count)) : lines, size };
  } finally {
    await handle.close();
  }
}

export class LogFollower {
  #files: Followed[];
  #onEvent: (event: FollowEvent) => void;
  #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;
  // The poll in flight, if any: stop() waits for it before closing the files it reads, so no
  // read lands on a closed handle (that rejection, unobserved, ended `trace` with exit code 1).
  #polling: Promise<void> | undefined;
  #state: 'idle' | 'following' | 'stopped' = 'idle';

  /** `startAt` maps a file to the offset to start from (default: its current end). */
  constructor(
    files: string[],
    onEvent: (event: FollowEvent) => void,
    options: { intervalMs?: number; startAt?: Map<string, number> } = {},
  ) {
    this.#onEvent = onEvent;
    this.#intervalMs = options.intervalMs ?? 200;
    this.#files = files.map((file) => ({
      file,
      handle: undefined,
      ino: -1,
      dev: -1,
      position: options.startAt?.get(file) ?? -1,
      partial: '',
      missingReported: false,
    }));
  }

  start(): void {
    if (this.#state !== 'idle') return;
    this.#state = 'following';
    this.#tick();
    this.#timer = setInterval(() => this.#tick(), this.#intervalMs);
  }

  async stop(): Promise<void> {
    this.#state = 'stopped';
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#polling;
    for (const followed of this.#files) {
      await followed.handle?.close().catch(() => undefined);
      followed.handle = undefined;
    }
  }

  #tick(): void {
    if (this.#polling !== undefined || this.#state !== 'following') return;
    this.#polling = this.#pollAll().finally(() => {
      this.#polling = undefined;
    });
  }

  async #pollAll(): Promise<void> {
    for (const followed of this.#files) {
      if (this.#state !== 'following') return;
      try {
        await this.#poll(followed);
      } catch (error) {
        // A file that vanishes or cannot be read mid-poll is a fact to show, not a reason to stop
        // following the others; the next poll starts over from stat().
        const reason = error instanceof Error ? error.message : String(error);
        this.#onEvent({ kind: 'notice', file: followed.file, message: `could not be read: ${reason}` });
      }
    }
  }

  async #poll(followed: Followed): Promise<void> {
    let current;
    try {
      current = await stat(followed.file);
    } catch {
      if (!followed.missingReported) {
        followed.missingReported = true;
        this.#onEvent({ kind: 'notice', file: followed.file, message: 'not there (yet); waiting for it' });
      }
      return;
    }
    if (followed.handle !== undefined && (current.ino !== followed.ino || current.dev !== followed.dev)) {
      // Rotated: finish the old file's last lines, then take the new one from its start.
      await this.#drain(followed);
      await followed.handle.close().catch(() => undefined);
      followed.handle = undefined;
      followed.position = 0;
      this.#onEvent({
        kind: 'notice',
        file: followed.file,
        message: 'replaced (rotated); following the new file',
      });
    }
    if (followed.handle === undefined) {
      try {
        followed.handle = await open(followed.file, 'r');
      } catch {
        return;
      }
      const opened = await followed.handle.stat();
      followed.ino = opened.ino;
      followed.dev = opened.dev;
      if (followed.position < 0) followed.position = opened.size;
      if (followed.missingReported) {
        followed.missingReported = false;
        followed.position = 0;
        this.#onEvent({ kind: 'notice', file: followed.file, message: 'appeared; following it' });
      }
    }
    const size = (await followed.handle.stat()).size;
    if (size < followed.position) {
      followed.position = 0;
      followed.partial = '';
      this.#onEvent({ kind: 'notice', file: followed.file, message: 'truncated; reading it from the start' });
    }
    await this.#drain(followed);
  }

  async #drain(followed: Followed): Promise<void> {
    const handle = followed.handle;
    if (handle === undefined) return;
    const buffer = Buffer.alloc(64 * 1024);
    while (this.#state === 'following') {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, followed.position);
      if (bytesRead === 0) break;
      followed.position += bytesRead;
      const lines = (followed.partial + buffer.toString('utf8', 0, bytesRead)).split('\n');
      followed.partial = lines.pop() ?? '';
      for (const line of lines)
        this.#onEvent({ kind: 'line', file: followed.file, line: line.replace(/\r$/, '') });
    }
  }
}

const errorWords =
  /\b(error|errors|fatal|critical|exception|traceback|uncaught|unhandled|panic|crash(ed)?|failed)\b|\w(Error|Exception)\b/i;
// The access log's 5xx lines: `... "GET /x" 502 0 3ms` and lines ending in ` error=CODE`.
const accessLogFailure = /" 5\d\d \d+ \d+ms|\serror=[A-Z_]+$/;

/**
 * Keeps error lines and the stack-trace lines that follow them (indented lines, `at ...`,
 * `Caused by`, Python's `File "..."` frames), per file.
 */
export class ErrorFilter {
  #inError = new Map<string, boolean>();

  accept(file: string, line: string): boolean {
    if (errorWords.test(line) || accessLogFailure.test(line)) {
      this.#inError.set(file, true);
      return true;
    }
    const continuation = /^(\s+\S|Caused by|\s*at\s)/.test(line);
    if (this.#inError.get(file) === true && continuation) return true;
    this.#inError.set(file, false);
    return false;
  }
}
