// A FastCGI connection without the hop secret (or with a wrong one) is refused: cgi-fcgi gets
// no response and the upstream no request.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { startChain, type Chain } from '../support/chain.js';

function cgiFcgi(socket: string, params: Record<string, string>): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn('cgi-fcgi', ['-bind', '-connect', socket], {
      env: params,
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    child.stdin.end();
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.on('close', () => resolve(stdout));
  });
}

describe('chain: hop secret', function () {
  this.timeout(30_000);
  let chain: Chain;
  before(async () => {
    chain = await startChain();
  });
  after(async () => {
    await chain?.stop();
  });

  it('refuses a connection without the secret or with a wrong one', async () => {
    const base = { REQUEST_METHOD: 'GET', REQUEST_URI: '/secret-test' };
    assert.equal(await cgiFcgi(chain.bridge.socket, base), '');
    assert.equal(await cgiFcgi(chain.bridge.socket, { ...base, KALLITHEA_ISAPI_SECRET: 'wrong' }), '');
    assert.ok(!chain.upstream.requests.some((r) => r.target === '/secret-test'));
    const good = await cgiFcgi(chain.bridge.socket, { ...base, KALLITHEA_ISAPI_SECRET: chain.bridge.secret });
    assert.match(good, /^Status: 200/);
  });
});
