// Bodiless responses: HEAD keeps the upstream's Content-Length, 204 and 304 end cleanly.
import assert from 'node:assert/strict';
import { curl, chainPerSuite } from '../support/chain.js';

describe('chain: HEAD, 204 and 304', function () {
  this.timeout(30_000);
  const running = chainPerSuite();

  it('HEAD returns the headers and no body', async () => {
    const result = await curl(['-I', `${running.chain.url}/stream?bytes=12345`]);
    assert.equal(result.code, 0, result.stderr);
    const head = result.stdout.toString();
    assert.match(head, /^HTTP\/1\.1 200/);
    assert.match(head, /content-length: 12345/i);
    assert.ok(running.chain.upstream.requests.some((r) => r.method === 'HEAD'));
  });

  for (const status of [204, 304]) {
    it(`${status} comes back with no body, twice on a kept-alive connection`, async () => {
      const url = `${running.chain.url}/status/${status}`;
      const result = await curl(['-o', '/dev/null', '-w', '%{http_code} %{num_connects}\\n', url, url]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout.toString(), `${status} 1\n${status} 0\n`);
    });
  }
});
