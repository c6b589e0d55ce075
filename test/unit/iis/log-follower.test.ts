// LogFollower stopped in the middle of a poll: Ctrl+C lands whenever it lands, and `trace` must
// still exit 0. A stop that closed the file under a read in flight made the read reject with
// nobody listening, and Node ended the process with exit code 1 (seen once in CI).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type FollowEvent, LogFollower } from '../../../lib/iis/log-follower.js';

describe('LogFollower', function () {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'kisapi-follow-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function unhandledRejections(): { seen: unknown[]; done: () => void } {
    const seen: unknown[] = [];
    const listener = (reason: unknown): void => {
      seen.push(reason);
    };
    process.on('unhandledRejection', listener);
    return { seen, done: () => process.off('unhandledRejection', listener) };
  }

  it('a stop while a file is being read waits for the read and leaves nothing unobserved', async () => {
    const file = path.join(dir, 'big.log');
    // Several 64 KiB reads' worth, so the stop lands between two reads of one drain.
    writeFileSync(file, 'a log line of some length\n'.repeat(40_000));
    const watch = unhandledRejections();
    try {
      let lines = 0;
      let stopping: Promise<void> | undefined;
      const follower = new LogFollower(
        [file],
        (event: FollowEvent) => {
          if (event.kind !== 'line') return;
          lines += 1;
          stopping ??= follower.stop();
        },
        { startAt: new Map([[file, 0]]), intervalMs: 10 },
      );
      follower.start();
      while (stopping === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
      await stopping;
      const afterStop = lines;
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.deepEqual(watch.seen, []);
      // The read that was in flight may finish its chunk; no poll starts after stop().
      assert.ok(lines - afterStop === 0, `${lines - afterStop} lines arrived after stop() resolved`);
    } finally {
      watch.done();
    }
  });

  it('a stop before the first poll opened the file leaves no handle open', async () => {
    const file = path.join(dir, 'small.log');
    writeFileSync(file, 'one\n');
    const watch = unhandledRejections();
    try {
      for (let i = 0; i < 50; i++) {
        const events: FollowEvent[] = [];
        const follower = new LogFollower([file], (event) => events.push(event), {
          startAt: new Map([[file, 0]]),
        });
        follower.start();
        await follower.stop();
        const atStop = events.length;
        await new Promise((resolve) => setImmediate(resolve));
        assert.equal(events.length, atStop, 'events after stop() resolved');
      }
      assert.deepEqual(watch.seen, []);
    } finally {
      watch.done();
    }
  });
});
