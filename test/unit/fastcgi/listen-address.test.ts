// Listen addresses: the three forms, and the refusals that name the fix.
import assert from 'node:assert/strict';
import { formatListenAddress, parseListenAddress } from '../../../lib/bridge/fastcgi/listen-address.js';

describe('bridge listen addresses', () => {
  it('parses unix:, tcp: and pipe:', () => {
    assert.deepEqual(parseListenAddress('unix:/run/k.sock'), { kind: 'unix', path: '/run/k.sock' });
    assert.deepEqual(parseListenAddress('tcp:127.0.0.1:9000'), {
      kind: 'tcp',
      host: '127.0.0.1',
      port: 9000,
    });
    assert.deepEqual(parseListenAddress('tcp:[::1]:0'), { kind: 'tcp', host: '::1', port: 0 });
    assert.deepEqual(parseListenAddress('pipe:\\\\.\\pipe\\kallithea-1'), {
      kind: 'pipe',
      path: '\\\\.\\pipe\\kallithea-1',
    });
  });

  it('formats what it parses', () => {
    for (const text of ['unix:/tmp/a.sock', 'tcp:127.0.0.1:9000', 'tcp:[::1]:1', 'pipe:\\\\.\\pipe\\x']) {
      assert.equal(formatListenAddress(parseListenAddress(text)), text);
    }
  });

  for (const bad of [
    '',
    '/tmp/a.sock',
    'unix:',
    'tcp:0.0.0.0:9000',
    'tcp:10.0.0.1:80',
    'tcp:127.0.0.1',
    'tcp:127.0.0.1:99999',
    'pipe:foo',
    'http://x',
  ]) {
    it(`refuses ${JSON.stringify(bad)}`, () => {
      assert.throws(() => parseListenAddress(bad), { code: 'ERR_LISTEN_ADDRESS' });
    });
  }
});
