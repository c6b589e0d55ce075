// The forwarder App against a real local upstream: raw target, Host, body framing,
// error mapping, and abort propagation.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import {
  ClientAbortedError,
  UpstreamBodyError,
  UpstreamTimeoutError,
  UpstreamUnreachableError,
} from '../../../lib/bridge/errors.js';
import { createForwarder, type Forwarder } from '../../../lib/bridge/forwarder/forwarder.js';
import { captureStart, readBody, testEnviron } from '../../support/environ.js';
import {
  patternBytes,
  startRawTargetUpstream,
  startUpstream,
  type EchoResult,
  type Upstream,
} from '../../support/upstream.js';

describe('forwarder', () => {
  let upstream: Upstream;
  let forwarder: Forwarder;

  before(async () => {
    upstream = await startUpstream();
    forwarder = createForwarder({
      upstream: upstream.origin,
      connectTimeout: 2,
      headersTimeout: 0.5,
      bodyTimeout: 10,
      maxConnections: 4,
    });
  });
  after(async () => {
    await forwarder.destroy();
    await upstream.stop();
  });

  async function echo(params: Record<string, string>, stdin?: Readable): Promise<EchoResult> {
    const captured = captureStart();
    const body = await forwarder.app(testEnviron(params, stdin), captured.start);
    assert.equal(captured.status, 200);
    return JSON.parse((await readBody(body)).toString()) as EchoResult;
  }

  it('sends the raw target byte for byte (%2F, raw UTF-8)', async () => {
    const rawUpstream = await startRawTargetUpstream();
    const raw = Buffer.from('/kallithea/a%2Fb/répo?q=%C3%A9&x=ü', 'utf8');
    const direct = createForwarder({
      upstream: rawUpstream.origin,
      connectTimeout: 2,
      headersTimeout: 2,
      bodyTimeout: 2,
      maxConnections: 1,
    });
    try {
      const body = await direct.app(
        testEnviron({ REQUEST_URI: raw.toString('latin1') }),
        captureStart().start,
      );
      const { target } = JSON.parse((await readBody(body)).toString()) as { target: string };
      assert.deepEqual(Buffer.from(target, 'base64'), raw);
    } finally {
      await direct.destroy();
      await rawUpstream.stop();
    }
  });

  it('forwards to an upstream on a Unix socket (upstream = unix:/path)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'forwarder-unix-'));
    const path = join(dir, 'kallithea.sock');
    const server = createServer((req, res) => res.end(`${req.method} ${req.url} host=${req.headers.host}`));
    await new Promise<void>((resolve) => server.listen(path, resolve));
    const viaSocket = createForwarder({
      upstream: `unix:${path}`,
      connectTimeout: 2,
      headersTimeout: 2,
      bodyTimeout: 2,
      maxConnections: 1,
    });
    try {
      const captured = captureStart();
      const body = await viaSocket.app(
        testEnviron({ REQUEST_URI: '/repo?x=1', HTTP_HOST: 'hg.example.org' }),
        captured.start,
      );
      assert.equal(captured.status, 200);
      assert.equal((await readBody(body)).toString(), 'GET /repo?x=1 host=hg.example.org');
    } finally {
      await viaSocket.destroy();
      server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('preserves Host', async () => {
    const result = await echo({ REQUEST_URI: '/kallithea/a%2Fb', HTTP_HOST: 'hg.example.org:8443' });
    assert.equal(result.target, '/kallithea/a%2Fb');
    assert.deepEqual(
      result.headers.filter(([name]) => name.toLowerCase() === 'host'),
      [['host', 'hg.example.org:8443']],
    );
  });

  it('percent-encodes only the bytes the client refuses (space, controls)', async () => {
    const result = await echo({ REQUEST_URI: '/a b\tc' });
    assert.equal(result.target, '/a%20b%09c');
  });

  it('streams a body with CONTENT_LENGTH, and a chunked one without', async () => {
    const sized = await echo(
      { REQUEST_METHOD: 'PUT', CONTENT_LENGTH: String(3 * 65536) },
      Readable.from(patternBytes(3 * 65536)),
    );
    assert.equal(sized.bodyBytes, 3 * 65536);
    assert.ok(
      sized.headers.some(([n, v]) => n.toLowerCase() === 'content-length' && v === String(3 * 65536)),
    );
    const chunked = await echo({ REQUEST_METHOD: 'POST' }, Readable.from(patternBytes(100_000)));
    assert.equal(chunked.bodyBytes, 100_000);
    assert.ok(chunked.headers.some(([n, v]) => n.toLowerCase() === 'transfer-encoding' && v === 'chunked'));
  });

  it('sends no body for an empty STDIN without CONTENT_LENGTH', async () => {
    const empty = new PassThrough();
    empty.end();
    const result = await echo({ REQUEST_METHOD: 'GET' }, empty);
    assert.equal(result.bodyBytes, 0);
    assert.ok(!result.headers.some(([n]) => /^(transfer-encoding|content-length)$/i.test(n)));
  });

  it('maps a refused connection to 502 and a silent upstream to 504', async () => {
    const closed = await startUpstream();
    await closed.stop();
    const dead = createForwarder({
      upstream: closed.origin,
      connectTimeout: 1,
      headersTimeout: 1,
      bodyTimeout: 1,
      maxConnections: 1,
    });
    await assert.rejects(dead.app(testEnviron(), captureStart().start), UpstreamUnreachableError);
    await dead.destroy();
    await assert.rejects(
      forwarder.app(testEnviron({ REQUEST_URI: '/hang' }), captureStart().start),
      UpstreamTimeoutError,
    );
  });

  it('throws from the body when the upstream dies mid-response', async () => {
    const body = await forwarder.app(testEnviron({ REQUEST_URI: '/die?bytes=1000' }), captureStart().start);
    await assert.rejects(readBody(body), UpstreamBodyError);
  });

  it('aborts the upstream request when the client goes away', async () => {
    const controller = new AbortController();
    const body = await forwarder.app(
      testEnviron({ REQUEST_URI: '/stream?bytes=1000000000' }, undefined, controller.signal),
      captureStart().start,
    );
    const closed = once(upstream.events, 'close');
    const iterator = (body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
    await iterator.next();
    controller.abort();
    await assert.rejects(iterator.next(), ClientAbortedError);
    const [target] = (await closed) as [string];
    assert.equal(target, '/stream?bytes=1000000000');
  });
});
