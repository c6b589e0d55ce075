// The bridge killed with SIGKILL in the middle of a download: the client sees a cut-off
// response (never a complete one), the DLL restarts the bridge, and the next request works.
import assert from 'node:assert/strict';
import { eventually } from '../native/support/harness.js';
import { stackOverUpstream } from './support/stack.js';
import { streamRequest } from './support/transfer.js';

describe('e2e: bridge killed mid-download', function () {
  this.timeout(120_000);
  const running = stackOverUpstream();

  for (const chunked of [true, false]) {
    it(`aborts the client's response (${chunked ? 'chunked by the DLL' : 'with Content-Length'}) and recovers`, async () => {
      const pid = running.stack.bridgePid();
      assert.ok(pid !== undefined);
      const size = 8 * 1024 * 1024 * 1024;
      let underWay = (): void => {};
      const started = new Promise<void>((done) => (underWay = done));
      const pending = streamRequest(
        running.stack.url(`/stream?bytes=${size}${chunked ? '&chunked=1' : ''}`),
        {
          onFirstBytes: underWay,
        },
      );
      // Kill once the download is under way: its first bytes arrived (a fixed wait was too
      // short for the TSan build, which then got a 502 before the response started).
      await Promise.race([started, pending]);
      process.kill(pid, 'SIGKILL');
      const res = await pending;
      assert.equal(res.status, 200);
      assert.equal(res.complete, false);
      assert.ok(res.bytes < size);
      assert.ok(await eventually(() => running.stack.bridgePid() !== pid, 2000), running.stack.log());
      const next = await streamRequest(running.stack.url('/after'));
      assert.equal(next.status, 200);
      assert.match(running.stack.log(), new RegExp(`bridge exited: pid ${pid} \\(signal 9\\)`));
    });
  }

  it('reports no ISAPI contract violation', () => {
    assert.deepEqual(running.stack.violations(), []);
  });
});
