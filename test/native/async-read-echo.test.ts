// HSE_REQ_ASYNC_READ_CLIENT: the fixture echoes the body from completions on host threads.
// No completion runs inline inside the call that started it, and nothing of the
// extension runs on the JavaScript (main) thread.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { fetchBuffer, startHost, type RunningHost } from './support/harness.js';

describe('isapi-host asynchronous ReadClient', () => {
  let running: RunningHost;
  before(async () => {
    running = await startHost('echo_async_read');
  });
  after(() => running.stop());

  it('echoes a 2 MiB body through async reads', async () => {
    const body = randomBytes(2 * 1024 * 1024);
    const response = await fetchBuffer(running.url('/kallithea/a'), { method: 'POST', body });
    assert.equal(response.status, 200);
    assert.equal(
      createHash('sha1').update(response.body).digest('hex'),
      createHash('sha1').update(body).digest('hex'),
    );
  });

  it('never completes inline and never calls the extension on the JS thread', async () => {
    await fetchBuffer(running.url('/kallithea/a'), { method: 'POST', body: 'small body' });
    const report = await fetchBuffer(running.url('/kallithea/a?report'));
    assert.match(report.body.toString(), / inline=0 /);
    assert.match(report.body.toString(), / main_thread=0$/);
  });

  it('finds no contract violations', () => {
    assert.deepEqual(running.host.violations(), []);
  });
});
