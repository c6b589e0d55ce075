// HSE_STATUS_PENDING with DONE_WITH_SESSION arriving first (from another thread, before
// HttpExtensionProc returns): the host accepts it, answers, and frees the request only
// after both, with no violation.
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { eventually, fetchBuffer, startHost, type RunningHost } from './support/harness.js';

describe('isapi-host DONE before PENDING', () => {
  let running: RunningHost;
  before(async () => {
    running = await startHost('pending_race');
  });
  after(() => running.stop());

  it('serves 200 such requests on keep-alive connections', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    try {
      const responses = await Promise.all(
        Array.from({ length: 200 }, (_, i) => fetchBuffer(running.url(`/kallithea/r${i}`), { agent })),
      );
      responses.forEach((response, i) => {
        assert.equal(response.status, 200);
        assert.equal(response.body.toString(), `finished before PENDING for /kallithea/r${i}`);
      });
    } finally {
      agent.destroy();
    }
    assert.ok(await eventually(() => running.host.liveRequests === 0));
    assert.deepEqual(running.host.violations(), []);
  });
});
