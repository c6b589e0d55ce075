// Kallithea (the upstream) down since the bridge started: the bridge answers 503 with
// Retry-After (Kallithea may be starting) through the DLL, and the DLL's own path keeps
// working for the next request. (502 once it had answered: test/peers/chain-upstream-errors.)
import assert from 'node:assert/strict';
import { fetchBuffer } from '../native/support/harness.js';
import { closedPort, startStack, waitForBridge, type Stack } from './support/stack.js';

describe('e2e: upstream down', function () {
  this.timeout(60_000);
  let stack: Stack;

  before(async () => {
    stack = await startStack({ upstream: `http://127.0.0.1:${await closedPort()}` });
    await waitForBridge(stack);
  });
  after(async () => {
    await stack?.stop();
  });

  it('answers 503 with Retry-After', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await fetchBuffer(stack.url(`/x${i}`));
      assert.equal(res.status, 503);
      assert.equal(res.headers['retry-after'], '5');
    }
  });

  it('reports no ISAPI contract violation', () => {
    assert.deepEqual(stack.violations(), []);
  });
});
