// Synchronous ReadClient: the echo fixture gets the first 48 KiB pre-read in lpbData
// (cbAvailable), cbTotalBytes = Content-Length, reads the rest with ReadClient until
// TRUE with 0 bytes, and the body comes back unchanged.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { eventually, fetchBuffer, startHost, type RunningHost } from './support/harness.js';

describe('isapi-host synchronous ReadClient', () => {
  let running: RunningHost;
  before(async () => {
    running = await startHost('echo_sync');
  });
  after(() => running.stop());

  it('echoes a 1 MiB body with read-ahead of 48 KiB', async () => {
    const body = randomBytes(1024 * 1024);
    const response = await fetchBuffer(running.url('/kallithea/echo'), { method: 'POST', body });
    assert.equal(response.status, 200);
    assert.equal(response.headers['x-read-ahead'], String(48 * 1024));
    assert.equal(response.headers['content-length'], String(body.length));
    assert.equal(
      createHash('sha256').update(response.body).digest('hex'),
      createHash('sha256').update(body).digest('hex'),
    );
  });

  it('pre-reads a small body whole (cbAvailable = cbTotalBytes)', async () => {
    const response = await fetchBuffer(running.url('/kallithea/echo'), { method: 'POST', body: 'hello' });
    assert.equal(response.headers['x-read-ahead'], '5');
    assert.equal(response.body.toString(), 'hello');
  });

  it('honours a configured read-ahead size', async () => {
    const small = await startHost('echo_sync', { readAhead: 1000 });
    try {
      const response = await fetchBuffer(small.url('/kallithea/echo'), {
        method: 'POST',
        body: randomBytes(5000),
      });
      assert.equal(response.headers['x-read-ahead'], '1000');
      assert.equal(response.body.length, 5000);
    } finally {
      await small.stop();
    }
  });

  it('logs the APPEND_LOG_PARAMETER text in the access log', async () => {
    await fetchBuffer(running.url('/kallithea/echo?log'), { method: 'POST', body: 'x' });
    assert.ok(
      await eventually(() =>
        running.accessLog.some((line) => line.includes('/kallithea/echo?log') && line.endsWith(' echo_sync')),
      ),
    );
  });

  it('finds no contract violations', () => {
    assert.deepEqual(running.host.violations(), []);
  });
});
