// 200 concurrent keep-alive clients, each sending several requests on its one connection:
// every answer is right, and every client's requests share a single connection.
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { eventually, fetchBuffer, startHost, type RunningHost } from './support/harness.js';

const clients = 200;
const requestsPerClient = 5;

describe('isapi-host with 200 concurrent keep-alive clients', function () {
  this.timeout(120_000);
  let running: RunningHost;
  let connections = 0;
  before(async () => {
    running = await startHost('echo_async_read');
    running.server.on('connection', () => connections++);
  });
  after(() => running.stop());

  it('answers every request and reuses one connection per client', async () => {
    const agents = Array.from({ length: clients }, () => new Agent({ keepAlive: true, maxSockets: 1 }));
    try {
      await Promise.all(
        agents.map(async (agent, c) => {
          for (let r = 0; r < requestsPerClient; r++) {
            const body = `client ${c} request ${r} `.repeat(50 + r);
            const response = await fetchBuffer(running.url(`/kallithea/c${c}/r${r}`), {
              method: 'POST',
              body,
              agent,
            });
            assert.equal(response.status, 200);
            assert.equal(response.body.toString(), body);
          }
        }),
      );
    } finally {
      for (const agent of agents) agent.destroy();
    }
    assert.equal(connections, clients);
    assert.ok(await eventually(() => running.host.liveRequests === 0));
    assert.deepEqual(running.host.violations(), []);
  });
});
