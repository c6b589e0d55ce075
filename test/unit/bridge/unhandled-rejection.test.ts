// Issue 8: the bridge process survives a promise that rejects unobserved. Node's default
// ends the process, cutting every request in flight; the bridge logs it and goes on serving.
// The rejection is made inside the real `kallithea-isapi bridge` child by a preloaded module
// (test/support/reject-on-signal.ts), so nothing in lib/ exists for the test's sake.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBridgeProcess, type BridgeProcess } from '../../support/bridge-process.js';
import { FastCgiTestClient, parseCgiResponse } from '../../support/fastcgi-client.js';
import { startUpstream, type Upstream } from '../../support/upstream.js';
import { waitFor } from '../cli/run-cli.js';

const PRELOAD = fileURLToPath(new URL('../../support/reject-on-signal.js', import.meta.url));

describe('bridge: an unobserved promise rejection', function () {
  this.timeout(30_000);
  let dir: string;
  let upstream: Upstream;
  let bridge: BridgeProcess;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kisapi-unhandled-'));
    upstream = await startUpstream();
    bridge = await startBridgeProcess({
      dir,
      bridge: { upstream: upstream.origin },
      env: { NODE_OPTIONS: `--import=${PRELOAD}` },
    });
  });
  after(async () => {
    await bridge.stop();
    await upstream.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('is logged, and the bridge keeps serving', async () => {
    process.kill(bridge.pid, 'SIGUSR2');
    await waitFor(() => bridge.output().includes('unhandled promise rejection'), 'the log line');
    assert.match(bridge.output(), /still serving\): Error: a rejection nobody observes \(test\)/);
    const client = await FastCgiTestClient.connect(`unix:${bridge.socket}`);
    try {
      const response = await client.request(
        { params: { REQUEST_METHOD: 'GET', REQUEST_URI: '/after', SERVER_PROTOCOL: 'HTTP/1.1' } },
        bridge.secret,
      );
      assert.ok(response.ended, bridge.output());
      assert.equal(parseCgiResponse(response.stdout).status, 200);
    } finally {
      client.close();
    }
  });
});
