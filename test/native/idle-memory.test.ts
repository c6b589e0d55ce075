// After a burst of requests the idle host gives memory back once (a memory-reducing
// collection and malloc_trim: V8 keeps the young generation it grew under load, which was
// most of the host's resting RSS after bench/e2e's load runs); a trickle never triggers it.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Agent } from 'node:http';
import { fetchBuffer, startHost } from './support/harness.js';

async function requests(url: string, count: number): Promise<void> {
  const agents = Array.from({ length: 20 }, () => new Agent({ keepAlive: true, maxSockets: 1 }));
  try {
    await Promise.all(
      agents.map(async (agent, a) => {
        for (let i = a; i < count; i += agents.length) {
          const response = await fetchBuffer(url, { agent });
          assert.equal(response.status, 200);
        }
      }),
    );
  } finally {
    for (const agent of agents) agent.destroy();
  }
}

describe('isapi-host gives memory back when idle after a burst', function () {
  this.timeout(60_000);

  it('releases once after 1,000 requests and a second without any, not after a trickle', async () => {
    const running = await startHost('echo_sync', { verify: false });
    let released = 0;
    running.host.on('memory-released', () => released++);
    try {
      const url = running.url('/kallithea/g?generate=100');
      await requests(url, 10);
      await new Promise((done) => setTimeout(done, 1500));
      assert.equal(released, 0, 'a trickle of 10 requests');
      const idle = once(running.host, 'memory-released');
      await requests(url, 1000);
      const start = Date.now();
      await idle;
      assert.ok(Date.now() - start >= 900, 'only after a second without a request');
      await new Promise((done) => setTimeout(done, 1500));
      assert.equal(released, 1, 'once per burst');
    } finally {
      await running.stop();
    }
  });
});
