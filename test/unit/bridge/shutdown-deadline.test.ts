// `kallithea-isapi bridge` on SIGTERM with a request the upstream never answers: once
// shutdown_timeout has passed the request is cut (the FastCGI connection closes without
// END_REQUEST, so the DLL aborts the client) and the bridge still exits 0: stopping was asked
// for and done; the cut request is logged.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requestInFlight, startBridgeProcess, type BridgeProcess } from '../../support/bridge-process.js';
import { HeldUpstream } from '../../support/held-upstream.js';

describe('bridge: SIGTERM with a request past shutdown_timeout', function () {
  this.timeout(30_000);
  let dir: string;
  let upstream: HeldUpstream;
  let bridge: BridgeProcess | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kisapi-deadline-'));
    upstream = await new HeldUpstream().listen();
  });
  after(async () => {
    await bridge?.stop();
    await upstream.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('cuts the request without END_REQUEST and exits 0', async () => {
    bridge = await startBridgeProcess({ dir, bridge: { upstream: upstream.origin, shutdown_timeout: 0.3 } });
    const { answer } = await requestInFlight(bridge, upstream);
    process.kill(bridge.pid, 'SIGTERM');
    const response = await answer;
    assert.equal(response.ended, false, 'the cut request must not look complete');
    assert.equal(await bridge.exited, 0, bridge.output());
    assert.match(bridge.output(), /shutdown deadline passed, cutting 1 connection/);
  });
});
