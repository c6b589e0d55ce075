// The one header policy (lib/bridge/headers/policy.ts), both ways: what reaches the environ
// (and so Kallithea) from ALL_RAW and from HTTP_* params, and what reaches the CGI block.
import assert from 'node:assert/strict';
import { headerKeys } from '../../../lib/bridge/environ/environ.js';
import { formatHeaderBlock } from '../../../lib/bridge/fastcgi/response-writer.js';
import { HeaderPolicy } from '../../../lib/bridge/headers/policy.js';
import { testEnviron } from '../../support/environ.js';

const IIS = { APPL_MD_PATH: '/LM/W3SVC/1/ROOT' };

/** Identity headers of common proxies and gateways, as a client could send them. */
const IDENTITY = [
  'Remote-User',
  'Remote-Groups',
  'Remote-Email',
  'Remote-Name',
  'X-Remote-User',
  'X-Remote-Login',
  'X-Forwarded-User',
  'X-Forwarded-Email',
  'X-Forwarded-Preferred-Username',
  'X-Authenticated-User',
  'X-Authenticated-Userid',
  'X-Auth-User',
  'Auth-User',
  'X-User',
  'X-Username',
  'X-WEBAUTH-USER',
  'X-Auth-Request-User',
  'X-Ms-Client-Principal-Name',
  'X-Goog-Authenticated-User-Email',
  'X-Amzn-Oidc-Identity',
  'Cf-Access-Authenticated-User-Email',
];

/** Headers the bridge asserts itself. */
const ASSERTED = [
  'X-Forwarded-For',
  'X-Forwarded-Proto',
  'X-Forwarded-Host',
  'Forwarded',
  'X-Real-IP',
  'X-Url-Scheme',
];

const HOP_BY_HOP = [
  'Keep-Alive',
  'TE',
  'Trailer',
  'Transfer-Encoding',
  'Upgrade',
  'Proxy',
  'Proxy-Authorization',
];

function paramKey(name: string): string {
  return `HTTP_${name.toUpperCase().replaceAll('-', '_')}`;
}

describe('header policy: requests', () => {
  it('ALL_RAW: drops identity, asserted, hop-by-hop, Connection-listed, Expect and `_` names; keeps the rest', () => {
    const lines = [
      'Host: h',
      'Accept: */*',
      'Connection: keep-alive, X-Private',
      'X-Private: 1',
      'Expect: 100-continue',
      'X_Anything: underscored',
      'x-forwarded-user: lower',
      'X-FORWARDED-USER: upper',
      ...[...IDENTITY, ...ASSERTED, ...HOP_BY_HOP].map((name) => `${name}: mallory`),
    ];
    const environ = testEnviron({ ...IIS, ALL_RAW: `${lines.join('\r\n')}\r\n` });
    assert.deepEqual(headerKeys(environ), ['HTTP_HOST', 'HTTP_ACCEPT']);
  });

  it('HTTP_* params (nginx): the same drops in their folded spelling', () => {
    const params: Record<string, string> = { HTTP_HOST: 'h', HTTP_ACCEPT: '*/*' };
    for (const name of [...IDENTITY, ...ASSERTED, ...HOP_BY_HOP]) params[paramKey(name)] = 'mallory';
    params.HTTP_CONNECTION = 'close, X-Private';
    params.HTTP_X_PRIVATE = '1';
    params.HTTP_EXPECT = '100-continue';
    assert.deepEqual(headerKeys(testEnviron(params)), ['HTTP_HOST', 'HTTP_ACCEPT']);
  });

  it('drops a configured user header in every spelling', () => {
    const policy = new HeaderPolicy({ userHeader: 'X-Secret-User' });
    const raw = policy.fromAllRaw('Host: h\r\nx-secret-user: a\r\nX-SECRET-USER: b\r\n');
    assert.deepEqual([...raw.headers.keys()], ['HTTP_HOST']);
    const params = policy.fromParams(new Map([['HTTP_X_SECRET_USER', 'c']]), false);
    assert.equal(params.headers.size, 0);
  });

  it('refuses a repeated Host, Content-Length or Authorization; joins other repeats', () => {
    const policy = new HeaderPolicy();
    assert.equal(policy.fromAllRaw('Host: a\r\nhost: b\r\n').invalid, 'repeated host header');
    assert.equal(
      policy.fromAllRaw('Content-Length: 1\r\nContent-Length: 1\r\n').invalid,
      'repeated Content-Length header',
    );
    assert.equal(
      policy.fromAllRaw('Authorization: a\r\nAuthorization: b\r\n').invalid,
      'repeated Authorization header',
    );
    const fine = policy.fromAllRaw('Host: a\r\nAccept: x\r\nAccept: y\r\n');
    assert.equal(fine.invalid, undefined);
    assert.equal(fine.headers.get('HTTP_ACCEPT'), 'x, y');
  });
});

describe('header policy: responses (the CGI block)', () => {
  function block(headers: Array<[string, string]>, status = 404): string {
    return formatHeaderBlock({ status, headers });
  }

  it('an upstream Status header cannot replace the real status', () => {
    const text = block([
      ['Status', '200 OK'],
      ['status', '302 Found'],
      ['Content-Type', 'text/plain'],
    ]);
    assert.equal(text, 'Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\n');
  });

  it('drops hop-by-hop, Connection-listed and Proxy-* headers; keeps Location and repeats', () => {
    const text = block(
      [
        ['Connection', 'close, X-Hop'],
        ['X-Hop', '1'],
        ['Transfer-Encoding', 'chunked'],
        ['Keep-Alive', 'timeout=5'],
        ['Upgrade', 'h2c'],
        ['Trailer', 'X'],
        ['Proxy-Authenticate', 'Basic'],
        ['Location', '/kallithea/repo'],
        ['Set-Cookie', 'a=1'],
        ['Set-Cookie', 'b=2'],
      ],
      302,
    );
    assert.equal(
      text,
      'Status: 302 Found\r\nLocation: /kallithea/repo\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n',
    );
  });

  it('refuses a value with CR, LF or NUL and a name that is not a token', () => {
    assert.throws(() => block([['X-A', 'a\r\nSet-Cookie: x']]), { code: 'ERR_CGI_HEADER' });
    assert.throws(() => block([['X-A', 'a\0']]), { code: 'ERR_CGI_HEADER' });
    assert.throws(() => block([['X A', 'a']]), { code: 'ERR_CGI_HEADER' });
    // Verdicts are kept per name: a refused name is refused again, and a name seen before
    // (X-A, above) still has its value checked.
    assert.throws(() => block([['X A', 'b']]), { code: 'ERR_CGI_HEADER' });
    assert.throws(() => block([['X-A', 'a\nb']]), { code: 'ERR_CGI_HEADER' });
    assert.equal(block([['X-A', 'ok']]), 'Status: 404 Not Found\r\nX-A: ok\r\n\r\n');
  });
});
