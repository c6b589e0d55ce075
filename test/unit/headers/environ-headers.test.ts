// Request headers in the environ: ALL_RAW (IIS) first, HTTP_* params otherwise; names with `_` dropped.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { buildEnviron } from '../../../lib/bridge/environ/build.js';
import { RequestAbort } from '../../../lib/bridge/fastcgi/request-abort.js';
import { headerKeys } from '../../../lib/bridge/environ/environ.js';

function environFor(params: Record<string, string>) {
  return buildEnviron({
    params: new Map(Object.entries(params)),
    stdin: new PassThrough(),
    stdinEmpty: false,
    abort: new RequestAbort(),
  });
}

describe('environ: request headers', () => {
  it('parses ALL_RAW with CRLF line ends', () => {
    const environ = environFor({
      APPL_MD_PATH: '/LM/W3SVC/1/ROOT',
      ALL_RAW: 'Host: example.org\r\nAccept: application/mercurial-0.1\r\nX-HgArg-1: cmds=heads\r\n\r\n',
      HTTP_HOST: 'ignored-when-all-raw-present',
    });
    assert.equal(environ.HTTP_HOST, 'example.org');
    assert.equal(environ.HTTP_ACCEPT, 'application/mercurial-0.1');
    assert.equal(environ.HTTP_X_HGARG_1, 'cmds=heads');
  });

  it('parses ALL_RAW with bare LF line ends', () => {
    const environ = environFor({
      APPL_MD_PATH: '/LM/W3SVC/1/ROOT',
      ALL_RAW: 'Host: a\nUser-Agent: git/2.43\n',
    });
    assert.equal(environ.HTTP_HOST, 'a');
    assert.equal(environ.HTTP_USER_AGENT, 'git/2.43');
  });

  it('drops header names containing an underscore', () => {
    const environ = environFor({
      APPL_MD_PATH: '/LM/W3SVC/1/ROOT',
      ALL_RAW: 'Host: a\r\nX_Forwarded_User: mallory\r\nx_forwarded_for: 6.6.6.6\r\n',
    });
    assert.equal(environ.HTTP_X_FORWARDED_USER, undefined);
    assert.equal(environ.HTTP_X_FORWARDED_FOR, undefined);
  });

  it('joins repeated headers (Cookie with "; ") and keeps Content-Type and Content-Length out of HTTP_*', () => {
    const environ = environFor({
      APPL_MD_PATH: '/LM/W3SVC/1/ROOT',
      ALL_RAW:
        'Accept: a\r\naccept: b\r\nCookie: x=1\r\nCookie: y=2\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n',
      CONTENT_LENGTH: '5',
    });
    assert.equal(environ.HTTP_ACCEPT, 'a, b');
    assert.equal(environ.HTTP_COOKIE, 'x=1; y=2');
    assert.equal(environ.HTTP_CONTENT_TYPE, undefined);
    assert.equal(environ.HTTP_CONTENT_LENGTH, undefined);
    assert.equal(environ.CONTENT_TYPE, 'text/plain');
    assert.equal(environ.CONTENT_LENGTH, '5');
  });

  it('keeps header value bytes as latin1', () => {
    const value = Buffer.from('Jürgen', 'utf8').toString('latin1');
    const environ = environFor({ APPL_MD_PATH: '/LM/W3SVC/1/ROOT', ALL_RAW: `X-Name: ${value}\r\n` });
    assert.equal(Buffer.from(environ.HTTP_X_NAME ?? '', 'latin1').toString('utf8'), 'Jürgen');
  });

  it('falls back to HTTP_* params without ALL_RAW, and HTTP_URL is not a header under IIS', () => {
    const environ = environFor({ APPL_MD_PATH: '/LM/W3SVC/1/ROOT', HTTP_HOST: 'h', HTTP_URL: '/x' });
    assert.deepEqual(headerKeys(environ), ['HTTP_HOST']);
  });

  it('sets the scheme from HTTPS on/off and never passes the secret on', () => {
    const on = environFor({ HTTPS: 'ON', KALLITHEA_ISAPI_SECRET: 's', HTTP_HOST: 'h' });
    const off = environFor({ HTTPS: 'off' });
    assert.equal(on['wsgi.url_scheme'], 'https');
    assert.equal(off['wsgi.url_scheme'], 'http');
    assert.ok(!Object.values(on).includes('s'));
  });

  it('takes REMOTE_USER, AUTH_USER and AUTH_TYPE from the params; unknown CONTENT_LENGTH is empty', () => {
    const environ = environFor({
      REMOTE_USER: 'DOM\\u',
      AUTH_USER: 'u',
      AUTH_TYPE: 'Negotiate',
      CONTENT_LENGTH: '',
    });
    assert.equal(environ.REMOTE_USER, 'DOM\\u');
    assert.equal(environ.AUTH_USER, 'u');
    assert.equal(environ.AUTH_TYPE, 'Negotiate');
    assert.equal(environ.CONTENT_LENGTH, '');
  });
});
