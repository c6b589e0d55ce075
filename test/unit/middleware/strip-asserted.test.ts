import assert from 'node:assert/strict';
import { headerKeys } from '../../../lib/bridge/environ/environ.js';
import { stripAsserted } from '../../../lib/bridge/middleware/strip-asserted/index.js';
import { bodyOf } from '../../../lib/bridge/pipeline/types.js';
import { captureStart, testEnviron } from '../../support/environ.js';

describe('middleware: strip-asserted', () => {
  it('removes every client copy of the user and proxy headers, keeps the rest', async () => {
    const environ = testEnviron({
      APPL_MD_PATH: '/LM/W3SVC/1/ROOT',
      ALL_RAW: [
        'Host: h',
        'X-Forwarded-User: a',
        'x-forwarded-user: b',
        'X-FORWARDED-USER: c',
        'X_Forwarded_User: d',
        'X-Forwarded-For: 6.6.6.6',
        'X-Forwarded-Proto: https',
        'X-Forwarded-Host: evil',
        'X-Forwarded-Server: evil',
        'X-Real-IP: 6.6.6.6',
        'Forwarded: for=6.6.6.6',
        'X-Url-Scheme: https',
        'X-Remote-User: kept',
        '',
      ].join('\r\n'),
    });
    await stripAsserted()(environ, captureStart().start, async () => bodyOf());
    assert.deepEqual(headerKeys(environ), ['HTTP_HOST', 'HTTP_X_REMOTE_USER']);
  });

  it('strips a configured user header too (from HTTP_* params, nginx style)', async () => {
    const environ = testEnviron({ HTTP_X_SECRET_USER: 'mallory', HTTP_ACCEPT: '*/*' });
    await stripAsserted({ userHeader: 'x-secret-user' })(environ, captureStart().start, async () => bodyOf());
    assert.deepEqual(headerKeys(environ), ['HTTP_ACCEPT']);
  });
});
