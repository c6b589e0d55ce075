// Kallithea starting: through the standard pipeline and a real forwarder, requests to a
// Kallithea that has not started yet get 503 with Retry-After; once a real upstream, started
// late on that port, has answered, a Kallithea that goes away again is 502.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createForwarder, type Forwarder } from '../../../lib/bridge/forwarder/forwarder.js';
import { standardPipeline } from '../../../lib/bridge/pipeline/index.js';
import type { App } from '../../../lib/bridge/pipeline/types.js';
import { captureStart, readBody, testEnviron } from '../../support/environ.js';

async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe('middleware: kallithea-starting', () => {
  let forwarder: Forwarder;
  let app: App;
  let kallithea: Server | undefined;
  let port: number;
  const errors: string[] = [];

  before(async () => {
    port = await freePort();
    forwarder = createForwarder({
      upstream: `http://127.0.0.1:${port}`,
      connectTimeout: 2,
      headersTimeout: 5,
      bodyTimeout: 5,
      maxConnections: 4,
    });
    app = standardPipeline(forwarder.app, {
      userHeader: 'X-Forwarded-User',
      accessLog: () => undefined,
      errorLog: (line) => errors.push(line),
    });
  });
  after(async () => {
    kallithea?.closeAllConnections();
    kallithea?.close();
    await forwarder.destroy();
  });

  async function get(): Promise<{ status: number | undefined; retryAfter: string | undefined }> {
    const captured = captureStart();
    await readBody(await app(testEnviron({ UNENCODED_URL: '/', HTTP_HOST: 'k' }), captured.start));
    const retryAfter = captured.headers?.find(([name]) => name.toLowerCase() === 'retry-after')?.[1];
    return { status: captured.status, retryAfter };
  }

  it('answers 503 with Retry-After while Kallithea has never answered', async () => {
    assert.deepEqual(await get(), { status: 503, retryAfter: '5' });
    assert.deepEqual(await get(), { status: 503, retryAfter: '5' });
    assert.match(errors.join('\n'), /ERR_UPSTREAM_STARTING/);
  });

  it('forwards once Kallithea is up', async () => {
    kallithea = createServer((_request, response) => response.end('up'));
    kallithea.listen(port, '127.0.0.1');
    await once(kallithea, 'listening');
    assert.deepEqual(await get(), { status: 200, retryAfter: undefined });
  });

  it('answers 502 when Kallithea goes away after it answered', async () => {
    kallithea?.closeAllConnections();
    await new Promise((resolve) => kallithea?.close(resolve));
    kallithea = undefined;
    assert.deepEqual(await get(), { status: 502, retryAfter: undefined });
    assert.match(errors.at(-1) ?? '', /ERR_UPSTREAM_UNREACHABLE/);
  });
});
