// Issue 9, verifier blind spots: each rule of core/verifier_policy that the original
// verifier missed, broken on purpose by a case of the verifier_breaker fixture. The `big`
// cases keep a 32 MiB write in flight by not reading the response.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { eventually, rawExchange, startHost, type RunningHost } from './support/harness.js';
import type { Violation } from '../../lib/host/isapi-host.js';

describe('isapi-host verifier rules (issue 9)', function () {
  this.timeout(60_000);
  let running: RunningHost;
  before(async () => {
    running = await startHost('verifier_breaker');
  });
  after(() => running.stop());

  const of = (breach: string): Violation[] =>
    running.host.violations().filter((v) => v.url === `/kallithea/b?rule=${breach}`);

  async function caught(breach: string, rule: string): Promise<Violation> {
    assert.ok(
      await eventually(() => of(breach).some((v) => v.rule === rule)),
      `no ${rule}: ${JSON.stringify(of(breach))}`,
    );
    return of(breach).find((v) => v.rule === rule) as Violation;
  }

  /** The request, with a client that reads nothing until `readAfter` resolves. */
  async function stalled(breach: string, rule: string, readAfter?: Promise<void>): Promise<Violation> {
    const socket = connect(running.port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.pause();
    socket.write(`GET /kallithea/b?rule=${breach} HTTP/1.1\r\nHost: t\r\n\r\n`);
    try {
      if (readAfter !== undefined) {
        await readAfter;
        socket.resume();
      }
      return await caught(breach, rule);
    } finally {
      socket.destroy();
    }
  }

  const simple = (breach: string): Promise<Buffer> =>
    rawExchange(running.port, `GET /kallithea/b?rule=${breach} HTTP/1.1\r\nHost: t\r\n\r\n`, (got) =>
      got.toString('latin1').endsWith('\r\n\r\nok'),
    );

  it('DONE_WITH_SESSION with an asynchronous write in flight', async () => {
    await stalled('done_with_io_pending', 'done_with_io_pending');
  });

  it('DONE inside HttpExtensionProc, then HSE_STATUS_SUCCESS', async () => {
    await simple('done_then_status');
    await caught('done_then_status', 'done_then_status');
  });

  it('an async WriteClient buffer changed before its completion (checksum at submit, rechecked)', async () => {
    // The client reads once the extension has had ample time to scribble on its buffer;
    // the completion (and the recheck) can only come after the client read.
    const later = new Promise<void>((done) => setTimeout(done, 300));
    await stalled('async_buffer_reused', 'async_buffer_reused', later);
  });

  it('synchronous WriteClient while an asynchronous write is in flight', async () => {
    await stalled('sync_io_during_async', 'sync_io_during_async');
  });

  it('DONE on one thread while another is blocked in WriteClient', async () => {
    await stalled('done_during_io', 'done_during_io');
  });

  it('more body bytes than Content-Length', async () => {
    await simple('content_length_over');
    assert.match(
      (await caught('content_length_over', 'content_length_mismatch')).message,
      /wrote 4 body bytes, Content-Length 3/,
    );
  });

  // The two rules checked when the session ends use a client that stays connected until
  // the violation is recorded: a client gone by then ends the request early, which is not
  // the extension's fault, and the host rightly stays silent (a client that closed on seeing
  // "ok" lost that race on a busy machine, in CI).
  it('fewer body bytes than Content-Length at the end of the session', async () => {
    assert.match(
      (await stalled('content_length_under', 'content_length_mismatch')).message,
      /ended after 2 body bytes/,
    );
  });

  it("broken self-chunking: the strict parser refuses the extension's framing", async () => {
    await simple('broken_chunking');
    assert.match((await caught('broken_chunking', 'broken_chunking')).message, /chunk/);
  });

  it('self-chunking without the last chunk', async () => {
    assert.match(
      (await stalled('chunked_unterminated', 'broken_chunking')).message,
      /without its last chunk/,
    );
  });

  it('a malformed HSE_REQ_VECTOR_SEND: an unknown element type, a null status with SEND_HEADERS', async () => {
    assert.match((await stalled('vector_bad_type', 'bad_response_vector')).message, /unknown type 7/);
    assert.match(
      (await stalled('vector_null_status', 'bad_response_vector')).message,
      /HSE_IO_SEND_HEADERS and a null status/,
    );
  });

  it('HSE_REQ_VECTOR_SEND while an asynchronous write is in flight', async () => {
    assert.match(
      (await stalled('vector_during_async', 'two_async_io')).message,
      /HSE_REQ_VECTOR_SEND\(HSE_IO_ASYNC\) while another/,
    );
  });

  // ECB fields read after DONE (ecb_field_after_done): test/native/retired-ecb.test.ts, in a
  // host process of its own, as the ASan build aborts on the read.

  it('the host serves on, and nothing stays outstanding', async () => {
    assert.ok(await eventually(() => running.host.liveRequests === 0 && running.host.heldRequests === 0));
    assert.deepEqual(running.host.handlerErrors(), []);
  });
});
