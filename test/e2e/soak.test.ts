// 10,000 requests in a row: no growth in the host's threads, fds or memory (the DLL's
// pool threads, pooled connections and per-request state all come back).
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { fetchBuffer } from '../native/support/harness.js';
import { sanitized, stackOverUpstream } from './support/stack.js';

describe('e2e: 10,000 requests in a row', function () {
  this.timeout(300_000);
  const running = stackOverUpstream();

  it('leaves threads, fds and memory where they were', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 4 });
    const batch = async (n: number, offset: number): Promise<void> => {
      for (let i = 0; i < n; i += 4) {
        const results = await Promise.all(
          [0, 1, 2, 3].map((k) => fetchBuffer(running.stack.url(`/soak/${offset + i + k}`), { agent })),
        );
        for (const r of results) assert.equal(r.status, 200);
      }
    };
    // Warm up: pools, allocators and the host's JS heap reach their working size.
    await batch(2000, 0);
    const before = running.stack.usage();
    const samples: number[] = [];
    for (let done = 2000; done < 10_000; done += 2000) {
      await batch(2000, done);
      samples.push(running.stack.usage().rssKiB);
    }
    const after = running.stack.usage();
    agent.destroy();
    // The host's two pools start one thread per CPU and grow when a task has waited 50 ms
    // with no thread idle (as IIS's do): on a loaded machine (a sanitizer run) a thread or
    // two may come, or not. A thread kept per request or per retry would be thousands.
    assert.ok(after.threads <= before.threads + 2, `threads ${before.threads} -> ${after.threads}`);
    assert.ok(after.fds <= before.fds + 4, `fds ${before.fds} -> ${after.fds}`);
    // A per-request leak grows with every batch; garbage-collector noise goes up and down.
    // So the last sample must not exceed the first by more than the noise allowance.
    const first = samples[0] ?? 0;
    const last = samples.at(-1) ?? 0;
    if (!sanitized) assert.ok(last < first + 24 * 1024, `VmRSS after each 2,000: ${samples.join(', ')} KiB`);
  });

  it('reports no ISAPI contract violation', () => {
    assert.deepEqual(running.stack.violations(), []);
  });
});
