// 1,000 concurrent slow requests with the pool at its default size (64 connections, 1,000
// queued): every one completes, none is refused.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { fetchBuffer } from '../native/support/harness.js';
import { startStack, waitForBridge, type Stack } from './support/stack.js';

describe('e2e: 1,000 concurrent slow requests', function () {
  this.timeout(180_000);
  let slow: Server;
  let stack: Stack;

  before(async () => {
    // An upstream that takes 100 ms per answer.
    slow = createServer((req, res) => {
      setTimeout(() => {
        const body = Buffer.from(`slow ${req.url ?? ''}`);
        res.writeHead(200, { 'Content-Length': body.length });
        res.end(body);
      }, 100);
    });
    await new Promise<void>((done) => slow.listen(0, '127.0.0.1', () => done()));
    const address = slow.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    stack = await startStack({ upstream: `http://127.0.0.1:${port}` });
    await waitForBridge(stack);
  });
  after(async () => {
    await stack?.stop();
    slow?.closeAllConnections();
    await new Promise<void>((done) => slow?.close(() => done()));
  });

  it('completes all of them', async () => {
    const results = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => fetchBuffer(stack.url(`/slow/${i}`))),
    );
    const statuses = new Map<number, number>();
    for (const r of results) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    assert.deepEqual([...statuses], [[200, 1000]]);
    results.forEach((r, i) => assert.equal(r.body.toString(), `slow /slow/${i}`));
  });

  it('reports no ISAPI contract violation', () => {
    assert.deepEqual(stack.violations(), []);
  });
});
