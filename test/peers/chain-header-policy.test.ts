// The header policy end to end (issue 8): identity headers of other proxies' spellings never
// reach the upstream, and an upstream `Status` header cannot replace the real status in the
// CGI block. Through nginx (HTTP_* params) and cgi-fcgi with IIS params (ALL_RAW).
import assert from 'node:assert/strict';
import { curl, chainPerSuite, cgiFcgi } from '../support/chain.js';
import type { EchoResult } from '../support/upstream.js';

const IDENTITY = ['Remote-User', 'X-Remote-User', 'X-Authenticated-User', 'X-Auth-User', 'X-WEBAUTH-USER'];

describe('chain: one header policy', function () {
  this.timeout(30_000);
  const running = chainPerSuite();

  it('through nginx: identity headers of every common name are dropped', async () => {
    const args = IDENTITY.flatMap((name) => ['-H', `${name}: mallory`]);
    const result = await curl([...args, `${running.chain.url}/whoami`]);
    assert.equal(result.code, 0, result.stderr);
    const echo = JSON.parse(result.stdout.toString()) as EchoResult;
    assert.ok(!JSON.stringify(echo.headers).includes('mallory'), JSON.stringify(echo.headers));
  });

  it('through cgi-fcgi with ALL_RAW: the same', async () => {
    const result = await cgiFcgi(running.chain.bridge.socket, {
      KALLITHEA_ISAPI_SECRET: running.chain.bridge.secret,
      REQUEST_METHOD: 'GET',
      APPL_MD_PATH: '/LM/W3SVC/1/ROOT',
      UNENCODED_URL: '/whoami',
      ALL_RAW: ['Host: h', ...IDENTITY.map((name) => `${name}: mallory`), ''].join('\r\n'),
    });
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^Status: 200 /);
    assert.ok(!result.stdout.includes('mallory'), result.stdout);
  });

  it('through nginx: an upstream Status header does not replace the real status', async () => {
    const result = await curl([
      '-s',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      `${running.chain.url}/status-header/404`,
    ]);
    assert.equal(result.stdout.toString(), '404');
  });

  it('through cgi-fcgi: the CGI block holds one Status, the real one', async () => {
    const result = await cgiFcgi(running.chain.bridge.socket, {
      KALLITHEA_ISAPI_SECRET: running.chain.bridge.secret,
      REQUEST_METHOD: 'GET',
      REQUEST_URI: '/status-header/404',
    });
    const head = result.stdout.slice(0, result.stdout.indexOf('\r\n\r\n'));
    assert.deepEqual(
      head.split('\r\n').filter((line) => /^status:/i.test(line)),
      ['Status: 404 Not Found'],
    );
  });
});
