// The bridge answers before it reads the body: with Kallithea down it answers a large POST
// 503 at once and then drains the upload (socket.resume()). The DLL then holds a complete
// response while its STDIN writes to the bridge are still going: the connection must live
// until they end (under scripts/asan-dll.sh a connection freed under a write is a failure).
// KALLITHEA_ISAPI_EARLY_ANSWER_ITERATIONS sets the number of POSTs (asan-dll.sh: 1,000).
import assert from 'node:assert/strict';
import { fetchBuffer } from '../native/support/harness.js';
import { closedPort, startStack, waitForBridge, type Stack } from './support/stack.js';

describe('e2e: early answer during an upload', function () {
  this.timeout(600_000);
  let stack: Stack;
  const iterations = Number(process.env['KALLITHEA_ISAPI_EARLY_ANSWER_ITERATIONS'] ?? '20');

  before(async () => {
    stack = await startStack({ upstream: `http://127.0.0.1:${await closedPort()}` });
    await waitForBridge(stack);
  });
  after(async () => {
    await stack?.stop();
  });

  it(`relays the 503 for each of ${iterations} large POSTs`, async () => {
    const body = Buffer.alloc(2 * 1024 * 1024, 0x61);
    const statuses = new Map<string, number>();
    for (let i = 0; i < iterations; i += 4) {
      const batch = Array.from({ length: Math.min(4, iterations - i) }, () =>
        fetchBuffer(stack.url('/upload'), { method: 'POST', body }).then(
          (res) => String(res.status),
          (error: NodeJS.ErrnoException) => error.code ?? 'error',
        ),
      );
      for (const status of await Promise.all(batch)) statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
    assert.deepEqual(Object.fromEntries(statuses), { '503': iterations });
  });

  it('reports no ISAPI contract violation', () => {
    assert.deepEqual(stack.violations(), []);
  });
});
