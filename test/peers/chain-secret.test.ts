// A FastCGI connection without the hop secret (or with a wrong one) is refused: cgi-fcgi gets
// no response and the upstream no request.
import assert from 'node:assert/strict';
import { chainPerSuite, cgiFcgi } from '../support/chain.js';

describe('chain: hop secret', function () {
  this.timeout(30_000);
  const running = chainPerSuite();

  it('refuses a connection without the secret or with a wrong one', async () => {
    const base = { REQUEST_METHOD: 'GET', REQUEST_URI: '/secret-test' };
    assert.equal((await cgiFcgi(running.chain.bridge.socket, base)).stdout, '');
    assert.equal(
      (await cgiFcgi(running.chain.bridge.socket, { ...base, KALLITHEA_ISAPI_SECRET: 'wrong' })).stdout,
      '',
    );
    assert.ok(!running.chain.upstream.requests.some((r) => r.target === '/secret-test'));
    const good = (
      await cgiFcgi(running.chain.bridge.socket, {
        ...base,
        KALLITHEA_ISAPI_SECRET: running.chain.bridge.secret,
      })
    ).stdout;
    assert.match(good, /^Status: 200/);
  });
});
