// The memory of written response chunks is reused (lib/bridge/body-chunks.ts), and never
// under a chunk someone may still hold: nginx -> an in-process bridge (FastCGI server, the
// standard pipeline with one extra middleware, the forwarder) -> the test upstream. Each
// download is one repeated byte of its own, so a byte of another response shows at once.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bodyChunks } from '../../lib/bridge/body-chunks.js';
import { FastCgiServer } from '../../lib/bridge/fastcgi/server.js';
import { createForwarder, type Forwarder } from '../../lib/bridge/forwarder/forwarder.js';
import { compose } from '../../lib/bridge/pipeline/compose.js';
import { standardPipeline } from '../../lib/bridge/pipeline/index.js';
import type { Body, Middleware } from '../../lib/bridge/pipeline/types.js';
import { wsgiHandler } from '../../lib/bridge/wsgi-handler.js';
import { nginxFastCgiHttp, nginxFastCgiServer } from '../support/chain.js';
import { httpConf, startNginx, type RunningNginx } from '../support/nginx.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

const MiB = 1024 * 1024;

/** Where a request's bytes differ from `fill`, or -1. */
function firstStray(data: Uint8Array, fill: number): number {
  return data.findIndex((byte) => byte !== fill);
}

describe('chain: the memory of written response chunks', function () {
  this.timeout(60_000);
  let dir: string;
  let upstream: Upstream;
  let forwarder: Forwarder;
  let server: FastCgiServer;
  let nginx: RunningNginx;
  /** The chunks the keeping middleware holds, per fill byte. */
  const kept = new Map<number, Uint8Array[]>();
  const secret = 'body-chunks-secret';

  /** Holds every chunk of a `keep=1` response, as a cache would: it must stay as it was sent. */
  const keepsChunks: Middleware = async function keepsChunks(environ, startResponse, next) {
    const body = await next(environ, startResponse);
    const query = new URLSearchParams(environ.QUERY_STRING);
    if (query.get('keep') !== '1') return body;
    const chunks: Uint8Array[] = [];
    kept.set(Number(query.get('fill')), chunks);
    return (async function* keeping(): AsyncGenerator<Uint8Array> {
      for await (const chunk of body as AsyncIterable<Uint8Array>) {
        chunks.push(chunk);
        yield chunk;
      }
    })() satisfies Body;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'chain-body-chunks-'));
    upstream = await startUpstream();
    forwarder = createForwarder({
      upstream: upstream.origin,
      connectTimeout: 10,
      headersTimeout: 30,
      bodyTimeout: 30,
      maxConnections: 16,
    });
    const pipeline = standardPipeline(forwarder.app, {
      userHeader: 'X-Forwarded-User',
      accessLog: () => undefined,
      errorLog: () => undefined,
    });
    server = new FastCgiServer({
      handler: wsgiHandler(compose([keepsChunks], pipeline)),
      secret,
      log: () => undefined,
      handshakeTimeoutMs: 10_000,
    });
    const socket = join(dir, 'bridge.sock');
    await server.listen(`unix:${socket}`);
    nginx = await startNginx({
      conf: ({ port, dir: nginxDir }) =>
        httpConf({ port, dir: nginxDir, http: nginxFastCgiHttp(socket), server: nginxFastCgiServer(secret) }),
    });
  });
  after(async () => {
    await nginx?.stop();
    await server?.close(1000);
    await forwarder?.destroy();
    await upstream?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const download = async (fill: number, bytes: number, extra = ''): Promise<Uint8Array> => {
    const response = await fetch(`http://127.0.0.1:${nginx.port}/stream?bytes=${bytes}&fill=${fill}${extra}`);
    assert.equal(response.status, 200);
    return new Uint8Array(await response.arrayBuffer());
  };

  it('reuses it across concurrent downloads, each arriving as sent', async () => {
    const reusedBefore = bodyChunks.reused;
    const fills = [1, 2, 3, 4, 5, 6, 7, 8];
    const bodies = await Promise.all(fills.map((fill) => download(fill, 4 * MiB)));
    bodies.forEach((body, i) => {
      assert.equal(body.length, 4 * MiB);
      assert.equal(firstStray(body, fills[i] as number), -1, `download ${i} holds another's bytes`);
    });
    assert.ok(bodyChunks.reused - reusedBefore > 8, `reused ${bodyChunks.reused - reusedBefore} times`);
  });

  it('never reuses a chunk a middleware wrapping the body may still hold', async () => {
    const [keptBody] = await Promise.all([
      download(0x4b, 4 * MiB, '&keep=1'),
      ...[9, 10, 11, 12].map((fill) => download(fill, 4 * MiB)),
    ]);
    // More transfers after it ended: memory given back from the kept chunks would be overwritten now.
    await Promise.all([13, 14, 15, 16].map((fill) => download(fill, 4 * MiB)));
    assert.equal(firstStray(keptBody as Uint8Array, 0x4b), -1);
    const chunks = kept.get(0x4b) ?? [];
    assert.ok(chunks.length > 1);
    chunks.forEach((chunk, i) =>
      assert.equal(firstStray(chunk, 0x4b), -1, `kept chunk ${i} was overwritten`),
    );
  });
});
