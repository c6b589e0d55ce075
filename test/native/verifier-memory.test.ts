// Issue 9: verify mode kept the last 4,096 finished requests whole (211 MiB after 4,000
// 48 KiB POSTs) so that a late ECB call could be reported. It now keeps a poisoned stub of
// each ECB only. And done_never measures inactivity: a long transfer that keeps the ECB
// busy is not a request that never calls DONE.
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { fetchBuffer, fixture, startHost, startHostProcess } from './support/harness.js';

// Node takes ~50-70 MiB; 4,096 whole requests with their 48 KiB read-ahead took over 200.
const rssLimitKiB = Number(process.env['ISAPI_HOST_RSS_LIMIT_KIB'] ?? 140 * 1024);

function post(port: number, agent: Agent, body: Buffer): Promise<number> {
  return new Promise((done, fail) => {
    const req = request({ port, host: '127.0.0.1', path: '/kallithea/e', method: 'POST', agent }, (res) => {
      let length = 0;
      res.on('data', (c: Buffer) => (length += c.length));
      res.on('end', () => done(length));
    });
    req.on('error', fail);
    req.end(body);
  });
}

describe('isapi-host verifier memory and idleness (issue 9)', function () {
  this.timeout(300_000);

  it('4,000 48 KiB POSTs in verify mode: the host keeps ECB stubs, not requests', async () => {
    const host = await startHostProcess(['--dll', fixture('echo_sync'), '--vdir', '/kallithea', '--verify']);
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    try {
      const body = Buffer.alloc(48 * 1024, 0x61);
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < 4000) {
          next++;
          assert.equal(await post(host.port, agent, body), body.length);
        }
      };
      await Promise.all(Array.from({ length: 8 }, worker));
      const { rssKiB } = host.memory();
      assert.ok(rssKiB < rssLimitKiB, `host RSS ${rssKiB} KiB after 4,000 POSTs (limit ${rssLimitKiB})`);
      assert.doesNotMatch(host.stderr(), /VIOLATION/);
    } finally {
      agent.destroy();
      await host.stop();
    }
  });

  it('done_never does not fire on a long transfer that keeps writing', async () => {
    // Inactivity of 1 s counts as "never DONE"; the client's pauses (20 ms per chunk of at most
    // 64 KiB, so 8 MiB lasts over 2.5 s) keep the request PENDING well past that, while
    // leaving a busy CI machine ample slack between two write completions.
    const running = await startHost('write_async', { doneTimeoutMs: 1000 });
    try {
      // The client reads slowly: the request stays PENDING well past doneTimeoutMs, but
      // its asynchronous writes keep completing.
      const size = 8 * 1024 * 1024;
      const response = await new Promise<number>((done, fail) => {
        const req = request(running.url(`/kallithea/w?size=${size}`), (res) => {
          let length = 0;
          res.on('data', (c: Buffer) => {
            length += c.length;
            res.pause();
            setTimeout(() => res.resume(), 20);
          });
          res.on('end', () => done(length));
        });
        req.on('error', fail);
        req.end();
      });
      assert.equal(response, size);
      assert.deepEqual(running.host.violations(), []);
      assert.equal((await fetchBuffer(running.url('/kallithea/w?size=10'))).body.length, 10);
    } finally {
      await running.stop();
    }
  });
});
