// Upstream failures as the client sees them: never up since the bridge started -> 503 with
// Retry-After (Kallithea starting); down after it answered -> 502 page; slower than
// headers_timeout -> 504; dies mid-response -> a truncated response (curl exit 18), never a
// clean end.
import assert from 'node:assert/strict';
import { closedPort, curl, startChain, type Chain } from '../support/chain.js';

describe('chain: upstream failures', function () {
  this.timeout(30_000);

  describe('upstream never up', () => {
    let chain: Chain;
    before(async () => {
      chain = await startChain({ bridge: { upstream: `http://127.0.0.1:${await closedPort()}` } });
    });
    after(async () => {
      await chain?.stop();
    });

    it('answers 503 with Retry-After: Kallithea may still be starting', async () => {
      const result = await curl(['-D', '-', '-o', '/dev/null', `${chain.url}/repo`]);
      const head = result.stdout.toString();
      assert.match(head, /^HTTP\/1\.1 503 /);
      assert.match(head, /^Retry-After: 5\r$/im);
      assert.match(chain.bridge.output(), /ERR_UPSTREAM_STARTING/);
    });
  });

  describe('upstream down after it answered', () => {
    let chain: Chain;
    before(async () => {
      chain = await startChain();
      const first = await curl(['-o', '/dev/null', '-w', '%{http_code}', `${chain.url}/status/204`]);
      assert.equal(first.stdout.toString(), '204');
      await chain.upstream.stop();
    });
    after(async () => {
      await chain?.stop();
    });

    it('answers 502 with an HTML page for a browser and text for hg', async () => {
      const page = await curl(['-H', 'Accept: text/html', '-w', '\\n%{http_code}', `${chain.url}/repo`]);
      assert.match(page.stdout.toString(), /<h1>502 Bad Gateway<\/h1>[\s\S]*\n502$/);
      const text = await curl([
        '-H',
        'Accept: application/mercurial-0.1',
        '-w',
        '\\n%{http_code}',
        `${chain.url}/repo`,
      ]);
      assert.match(text.stdout.toString(), /^502 Bad Gateway: Kallithea is not reachable[^\n]*\n\n502$/);
      assert.match(chain.bridge.output(), /ERR_UPSTREAM_UNREACHABLE/);
    });
  });

  describe('upstream slow or dying', () => {
    let chain: Chain;
    before(async () => {
      chain = await startChain({ bridge: { headers_timeout: 1 }, nginxBuffering: true });
    });
    after(async () => {
      await chain?.stop();
    });

    it('answers 504 when the upstream sends no headers within headers_timeout', async () => {
      const result = await curl(['-o', '/dev/null', '-w', '%{http_code}', `${chain.url}/hang`]);
      assert.equal(result.stdout.toString(), '504');
    });

    it('truncates the response when the upstream dies mid-body', async () => {
      const result = await curl([
        '-o',
        '/dev/null',
        '-w',
        '%{http_code} %{size_download}',
        `${chain.url}/die?bytes=100000`,
      ]);
      assert.equal(result.code, 18, result.stderr);
      const [status, size] = result.stdout.toString().split(' ');
      assert.equal(status, '200');
      assert.ok(Number(size) < 200_000);
    });
  });
});
