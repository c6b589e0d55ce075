import assert from 'node:assert/strict';
import { headerKeys } from '../../../lib/bridge/environ/environ.js';
import { hopByHop } from '../../../lib/bridge/middleware/hop-by-hop/index.js';
import { bodyOf } from '../../../lib/bridge/pipeline/types.js';
import { captureStart, testEnviron } from '../../support/environ.js';

describe('middleware: hop-by-hop', () => {
  it('removes hop-by-hop request headers, those Connection names, and Proxy-*', async () => {
    const environ = testEnviron({
      HTTP_CONNECTION: 'keep-alive, X-Private',
      HTTP_X_PRIVATE: '1',
      HTTP_KEEP_ALIVE: 'timeout=5',
      HTTP_TE: 'trailers',
      HTTP_TRAILER: 'X',
      HTTP_TRANSFER_ENCODING: 'chunked',
      HTTP_UPGRADE: 'websocket',
      HTTP_PROXY_AUTHORIZATION: 'Basic x',
      HTTP_PROXY: 'http://evil',
      HTTP_AUTHORIZATION: 'Basic kept',
    });
    await hopByHop()(environ, captureStart().start, async () => bodyOf());
    assert.deepEqual(headerKeys(environ), ['HTTP_AUTHORIZATION']);
  });

  it('removes hop-by-hop response headers', async () => {
    const captured = captureStart();
    await hopByHop()(testEnviron(), captured.start, async (_environ, start) => {
      start?.(200, [
        ['Connection', 'close, X-Hop'],
        ['X-Hop', '1'],
        ['Transfer-Encoding', 'chunked'],
        ['Keep-Alive', 'timeout=5'],
        ['Proxy-Authenticate', 'Basic'],
        ['Content-Type', 'text/plain'],
        ['Set-Cookie', 'a=1'],
        ['Set-Cookie', 'b=2'],
      ]);
      return bodyOf();
    });
    assert.deepEqual(captured.headers, [
      ['Content-Type', 'text/plain'],
      ['Set-Cookie', 'a=1'],
      ['Set-Cookie', 'b=2'],
    ]);
  });
});
