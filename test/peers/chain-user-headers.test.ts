// Client-sent copies of the user header and X-Forwarded-* never reach the upstream as sent;
// the IIS user (REMOTE_USER param) does. Through nginx (HTTP_* params) and through cgi-fcgi
// with IIS-style params (ALL_RAW, APPL_MD_PATH, UNENCODED_URL), as the DLL sends them.
import assert from 'node:assert/strict';
import { curl, IIS_USER, chainPerSuite, cgiFcgi } from '../support/chain.js';
import type { EchoResult } from '../support/upstream.js';

function headersOf(echo: EchoResult): Array<[string, string]> {
  return echo.headers.map(([name, value]) => [name.toLowerCase(), value]);
}

describe('chain: asserted headers cannot be forged', function () {
  this.timeout(30_000);
  const running = chainPerSuite();

  it('through nginx: every spelling of X-Forwarded-User and X-Forwarded-For is replaced', async () => {
    const result = await curl([
      '-H',
      'X-Forwarded-User: mallory1',
      '-H',
      'X_Forwarded_User: mallory2',
      '-H',
      'x-forwarded-user: mallory3',
      '-H',
      'X-Forwarded-For: 6.6.6.6',
      '-H',
      'X-Real-IP: 6.6.6.6',
      `${running.chain.url}/whoami`,
    ]);
    assert.equal(result.code, 0, result.stderr);
    const headers = headersOf(JSON.parse(result.stdout.toString()) as EchoResult);
    assert.deepEqual(
      headers.filter(([name]) => name === 'x-forwarded-user'),
      [['x-forwarded-user', IIS_USER]],
    );
    assert.deepEqual(
      headers.filter(([name]) => name === 'x-forwarded-for'),
      [['x-forwarded-for', '127.0.0.1']],
    );
    assert.ok(!headers.some(([name]) => name === 'x_forwarded_user' || name === 'x-real-ip'));
    assert.ok(!JSON.stringify(headers).includes('mallory') && !JSON.stringify(headers).includes('6.6.6.6'));
  });

  it('through cgi-fcgi with IIS params: ALL_RAW copies are dropped, REMOTE_USER is asserted', async () => {
    const result = await cgiFcgi(running.chain.bridge.socket, {
      KALLITHEA_ISAPI_SECRET: running.chain.bridge.secret,
      REQUEST_METHOD: 'GET',
      APPL_MD_PATH: '/LM/W3SVC/1/ROOT/kallithea',
      UNENCODED_URL: '/Kallithea/repo%2Fsub?cmd=heads',
      HTTP_URL: '/Kallithea/repo%2Fsub?cmd=heads',
      URL: '/Kallithea/repo/sub',
      QUERY_STRING: 'cmd=heads',
      ALL_RAW: [
        'Host: hg.example.org',
        'X-Forwarded-User: mallory1',
        'X_Forwarded_User: mallory2',
        'x-forwarded-user: mallory3',
        'X-Forwarded-For: 6.6.6.6',
        'Accept: application/mercurial-0.1',
        '',
      ].join('\r\n'),
      HTTP_X_FORWARDED_USER: 'mallory4',
      REMOTE_USER: 'CORP\\bob',
      AUTH_USER: 'bob@corp',
      REMOTE_ADDR: '10.9.8.7',
      HTTPS: 'on',
    });
    assert.equal(result.code, 0);
    const echo = JSON.parse(result.stdout.slice(result.stdout.indexOf('\r\n\r\n') + 4)) as EchoResult;
    assert.equal(echo.target, '/Kallithea/repo%2Fsub?cmd=heads');
    const headers = headersOf(echo);
    assert.deepEqual(
      headers.filter(([name]) => name.startsWith('x-forwarded') || name.startsWith('x_')),
      [
        ['x-forwarded-user', 'CORP\\bob'],
        ['x-forwarded-for', '10.9.8.7'],
        ['x-forwarded-proto', 'https'],
        ['x-forwarded-host', 'hg.example.org'],
      ],
    );
    assert.ok(!JSON.stringify(headers).includes('mallory'));
  });
});
