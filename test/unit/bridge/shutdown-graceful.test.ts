// `kallithea-isapi bridge` on SIGTERM or SIGINT: stops accepting, lets the request in flight
// (held by the upstream until after the signal) finish with its whole answer, then exits 0.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  canConnect,
  requestInFlight,
  startBridgeProcess,
  type BridgeProcess,
} from '../../support/bridge-process.js';
import { parseCgiResponse } from '../../support/fastcgi-client.js';
import { HeldUpstream } from '../../support/held-upstream.js';
import { waitFor } from '../cli/run-cli.js';

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  describe(`bridge: ${signal} while a request is in flight`, function () {
    this.timeout(30_000);
    let dir: string;
    let upstream: HeldUpstream;
    let bridge: BridgeProcess | undefined;

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'kisapi-shutdown-'));
      upstream = await new HeldUpstream().listen();
    });
    after(async () => {
      await bridge?.stop();
      await upstream.close();
      await rm(dir, { recursive: true, force: true });
    });

    it('refuses new connections, completes the held request, exits 0', async () => {
      bridge = await startBridgeProcess({ dir, bridge: { upstream: upstream.origin, shutdown_timeout: 60 } });
      const { answer } = await requestInFlight(bridge, upstream);
      process.kill(bridge.pid, signal);
      const running = bridge;
      await waitFor(() => running.output().includes(`${signal}: stopping`), 'the stopping line');
      assert.equal(await canConnect(bridge.socket), false, 'a new connection was accepted after the signal');

      upstream.release('finished after the signal');
      const response = await answer;
      assert.ok(response.ended, 'no END_REQUEST');
      const cgi = parseCgiResponse(response.stdout);
      assert.equal(cgi.status, 200);
      assert.equal(cgi.body.toString(), 'finished after the signal');
      assert.equal(await bridge.exited, 0, bridge.output());
    });
  });
}
