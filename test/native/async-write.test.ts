// WriteClient(HSE_IO_ASYNC): a chain of async writes, each started from the previous
// completion, DONE from the last; the bytes arrive in order.
import assert from 'node:assert/strict';
import { eventually, fetchBuffer, startHost, type RunningHost } from './support/harness.js';

function pattern(length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + Math.floor(i / 8192)) & 0xff;
  return out;
}

describe('isapi-host asynchronous WriteClient', () => {
  let running: RunningHost;
  before(async () => {
    running = await startHost('write_async');
  });
  after(() => running.stop());

  it('delivers 5 MiB written asynchronously, in order', async () => {
    const size = 5 * 1024 * 1024 + 3;
    const response = await fetchBuffer(running.url(`/kallithea/w?size=${size}`));
    assert.equal(response.status, 200);
    assert.equal(response.body.length, size);
    assert.ok(response.body.equals(pattern(size)));
  });

  it('leaves no request outstanding', async () => {
    await fetchBuffer(running.url('/kallithea/w?size=1000'));
    assert.ok(await eventually(() => running.host.liveRequests === 0));
    assert.deepEqual(running.host.violations(), []);
  });
});
