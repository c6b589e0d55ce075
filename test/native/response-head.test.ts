// Issue 9, malformed response head: a header name that is not a token, a control byte in a
// value or status 000 made Node's writeHead throw inside the event callback, and the client
// got body bytes without a status line. Native code now checks the head first: a bad one is
// a `bad_response_head` violation (in both modes: Node cannot send it) and a 500.
import assert from 'node:assert/strict';
import { rawExchange, startHost } from './support/harness.js';

describe('isapi-host response head checks (issue 9)', () => {
  for (const verify of [true, false]) {
    for (const rule of ['bad_header_name', 'bad_header_value', 'bad_status']) {
      it(`${rule} (verify: ${verify}): a 500 with a status line, and a violation`, async () => {
        const running = await startHost('verifier_breaker', { verify });
        try {
          const raw = (
            await rawExchange(running.port, `GET /kallithea/b?rule=${rule} HTTP/1.1\r\nHost: t\r\n\r\n`)
          ).toString('latin1');
          assert.match(raw, /^HTTP\/1\.1 500 /);
          assert.doesNotMatch(raw, /\r\n\r\n.*ok$/s);
          assert.deepEqual(
            running.host.violations().map((v) => v.rule),
            ['bad_response_head'],
          );
          assert.deepEqual(running.host.handlerErrors(), []);
        } finally {
          await running.stop();
        }
      });
    }
  }
});

describe('isapi-host bodiless responses (issue 9)', () => {
  for (const status of [204, 304]) {
    it(`${status} without Content-Length keeps the connection (no Connection: close)`, async () => {
      const running = await startHost('stream_no_length');
      try {
        const request = `GET /kallithea/s?parts=0&status=${status} HTTP/1.1\r\nHost: t\r\n\r\n`;
        const raw = (
          await rawExchange(
            running.port,
            request + request,
            (got) =>
              (got.toString('latin1').match(new RegExp(`HTTP/1\\.1 ${status} `, 'g')) ?? []).length === 2,
          )
        ).toString('latin1');
        assert.equal((raw.match(new RegExp(`HTTP/1\\.1 ${status} `, 'g')) ?? []).length, 2);
        assert.doesNotMatch(raw, /Connection: close/i);
      } finally {
        await running.stop();
      }
    });
  }
});
