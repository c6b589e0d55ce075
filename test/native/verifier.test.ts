// Verifier mode: each contract breach of the verifier_breaker fixture is caught, logged
// as a violation, and answered with a 500 (headers not yet sent) or an aborted connection.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { eventually, fetchBuffer, startHost, type RunningHost } from './support/harness.js';
import type { Violation } from '../../lib/host/isapi-host.js';

describe('isapi-host verifier', () => {
  let running: RunningHost;
  before(async () => {
    running = await startHost('verifier_breaker', { doneTimeoutMs: 300 });
  });
  after(() => running.stop());

  async function breach(rule: string): Promise<{ status: number | 'aborted'; violation: Violation }> {
    const caught = once(running.host, 'violation') as Promise<[Violation]>;
    let status: number | 'aborted';
    try {
      status = (await fetchBuffer(running.url(`/kallithea/b?rule=${rule}`))).status;
    } catch {
      status = 'aborted';
    }
    const [violation] = await caught;
    return { status, violation };
  }

  it('catches WriteClient before any header (500)', async () => {
    const { status, violation } = await breach('write_before_headers');
    assert.equal(violation.rule, 'write_before_headers');
    assert.equal(status, 500);
  });

  it('catches async I/O without a completion routine (headers sent: connection aborted)', async () => {
    const { status, violation } = await breach('async_without_completion');
    assert.equal(violation.rule, 'async_without_completion');
    assert.equal(status, 'aborted');
  });

  it('catches two asynchronous operations in flight', async () => {
    const { status, violation } = await breach('two_async_io');
    assert.equal(violation.rule, 'two_async_io');
    assert.equal(status, 'aborted');
  });

  it('catches a PENDING request that never calls DONE_WITH_SESSION (500 after the deadline)', async () => {
    const { status, violation } = await breach('done_never');
    assert.equal(violation.rule, 'done_never');
    assert.equal(status, 500);
  });

  it('catches DONE_WITH_SESSION called twice', async () => {
    const { violation } = await breach('done_twice');
    assert.equal(violation.rule, 'done_twice');
  });

  it('catches the ECB used after DONE_WITH_SESSION', async () => {
    const { violation } = await breach('ecb_after_done');
    assert.equal(violation.rule, 'ecb_after_done');
    assert.match(violation.message, /GetServerVariable( \(retired ECB\))? after DONE_WITH_SESSION/);
  });

  it('lists every violation with its request', async () => {
    const rules = running.host.violations().map((v) => v.rule);
    assert.deepEqual([...rules].sort(), [
      'async_without_completion',
      'done_never',
      'done_twice',
      'ecb_after_done',
      'two_async_io',
      'write_before_headers',
    ]);
    assert.ok(running.host.violations().every((v) => v.url.startsWith('/kallithea/b?rule=')));
  });

  it('a well-behaved request on the same host is fine and nothing stays outstanding', async () => {
    const response = await fetchBuffer(running.url('/kallithea/b'));
    assert.equal(response.body.toString(), 'ok');
    assert.ok(await eventually(() => running.host.liveRequests === 0));
  });
});
