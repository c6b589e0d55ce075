// Issue 8: the bridge process survives a promise that rejects unobserved. Node's default
// ends the process, cutting every request in flight; the bridge logs it and goes on serving.
// The rejection is made inside the real `kallithea-isapi bridge` child by a preloaded module
// (test/support/reject-on-signal.ts), so nothing in lib/ exists for the test's sake.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { assertServes, bridgePerSuite } from '../../support/bridge-process.js';
import { waitFor } from '../cli/run-cli.js';

const PRELOAD = fileURLToPath(new URL('../../support/reject-on-signal.js', import.meta.url));

describe('bridge: an unobserved promise rejection', function () {
  this.timeout(30_000);
  const suite = bridgePerSuite('kisapi-unhandled-', { env: { NODE_OPTIONS: `--import=${PRELOAD}` } });

  it('is logged, and the bridge keeps serving', async () => {
    const { bridge } = suite;
    process.kill(bridge.pid, 'SIGUSR2');
    await waitFor(() => bridge.output().includes('unhandled promise rejection'), 'the log line');
    assert.match(bridge.output(), /still serving\): Error: a rejection nobody observes \(test\)/);
    await assertServes(bridge);
  });
});
