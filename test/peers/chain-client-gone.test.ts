// A client that goes away mid-download makes the bridge abort its upstream request: the
// upstream sees its response's connection close before the response finished.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request } from 'node:http';
import { chainPerSuite } from '../support/chain.js';

describe('chain: client gone mid-download', function () {
  this.timeout(30_000);
  const running = chainPerSuite();

  it('closes the upstream connection', async () => {
    const target = `/stream?bytes=${10 * 1024 ** 3}`;
    const closed = once(running.chain.upstream.events, 'close');
    const req = request(`${running.chain.url}${target}`, (res) => {
      let seen = 0;
      res.on('data', (chunk: Buffer) => {
        seen += chunk.length;
        if (seen > 4 * 1024 * 1024) req.destroy();
      });
    });
    req.on('error', () => undefined);
    req.end();
    const [closedTarget] = (await closed) as [string];
    assert.equal(closedTarget, target);
  });
});
