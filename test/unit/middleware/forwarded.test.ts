import assert from 'node:assert/strict';
import { forwarded } from '../../../lib/bridge/middleware/forwarded/index.js';
import { bodyOf } from '../../../lib/bridge/pipeline/types.js';
import { captureStart, testEnviron } from '../../support/environ.js';

describe('middleware: forwarded', () => {
  it('asserts X-Forwarded-For/-Proto/-Host from REMOTE_ADDR, HTTPS and Host', async () => {
    const environ = testEnviron({ REMOTE_ADDR: '10.0.0.7', HTTPS: 'on', HTTP_HOST: 'hg.example.org' });
    await forwarded()(environ, captureStart().start, async () => bodyOf());
    assert.equal(environ.HTTP_X_FORWARDED_FOR, '10.0.0.7');
    assert.equal(environ.HTTP_X_FORWARDED_PROTO, 'https');
    assert.equal(environ.HTTP_X_FORWARDED_HOST, 'hg.example.org');
  });
});
