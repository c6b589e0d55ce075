import assert from 'node:assert/strict';
import { iisUser } from '../../../lib/bridge/middleware/iis-user/index.js';
import { bodyOf } from '../../../lib/bridge/pipeline/types.js';
import { captureStart, testEnviron } from '../../support/environ.js';

const next = async () => bodyOf();

describe('middleware: iis-user', () => {
  it('sends REMOTE_USER in X-Forwarded-User by default', async () => {
    const environ = testEnviron({ REMOTE_USER: 'CORP\\alice', AUTH_USER: 'alice@corp' });
    await iisUser()(environ, captureStart().start, next);
    assert.equal(environ.HTTP_X_FORWARDED_USER, 'CORP\\alice');
  });

  it('falls back to AUTH_USER and honours a configured header', async () => {
    const environ = testEnviron({ AUTH_USER: 'bob' });
    await iisUser({ header: 'X-Kallithea-Secret-User' })(environ, captureStart().start, next);
    assert.equal(environ.HTTP_X_KALLITHEA_SECRET_USER, 'bob');
    assert.equal(environ.HTTP_X_FORWARDED_USER, undefined);
  });

  it('removes the header when IIS authenticated nobody', async () => {
    const environ = testEnviron({ HTTP_X_FORWARDED_USER: 'mallory' });
    await iisUser()(environ, captureStart().start, next);
    assert.equal(environ.HTTP_X_FORWARDED_USER, undefined);
  });
});
