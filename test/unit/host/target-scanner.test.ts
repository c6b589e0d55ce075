// The scanner that lets raw bytes >= 0x80 in request-targets past llhttp: it rewrites
// targets only, follows Content-Length and chunked bodies to the next request line, and
// gives up (passes bytes unchanged) on what it does not follow. Every case is fed whole and
// split at every byte, since TCP may cut anywhere.
import assert from 'node:assert/strict';
import { TargetScanner } from '../../../lib/host/target-scanner.js';

const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');

/** Every split of `input` in two gives the same result as the whole. */
function sameAtEverySplit(input: Buffer, expected: string): void {
  const scanner = new TargetScanner();
  assert.equal(scanner.rewrite(input).toString('latin1'), expected);
  for (let cut = 1; cut < input.length; cut++) {
    const split = new TargetScanner();
    const out = Buffer.concat([split.rewrite(input.subarray(0, cut)), split.rewrite(input.subarray(cut))]);
    assert.equal(out.toString('latin1'), expected, `split at ${cut}`);
  }
}

describe('host: TargetScanner (raw bytes in request-targets)', () => {
  it('percent-encodes bytes >= 0x80 in the target and remembers the target as sent', () => {
    const scanner = new TargetScanner();
    const out = scanner.rewrite(bytes('GET /r\xc3\xa9po?x=\xe9 HTTP/1.1\r\nHost: h\r\n\r\n'));
    assert.equal(out.toString('latin1'), 'GET /r%C3%A9po?x=%E9 HTTP/1.1\r\nHost: h\r\n\r\n');
    assert.deepEqual(scanner.take('/r%C3%A9po?x=%E9'), {
      encoded: '/r%C3%A9po?x=%E9',
      raw: '/r\xc3\xa9po?x=\xe9',
    });
    assert.equal(scanner.take('/r%C3%A9po?x=%E9'), undefined);
  });

  it('hands back the very same Buffer when nothing needs rewriting', () => {
    const scanner = new TargetScanner();
    const chunk = bytes('GET /plain HTTP/1.1\r\nX-Name: caf\xe9\r\n\r\n');
    assert.equal(scanner.rewrite(chunk), chunk);
  });

  it('leaves header values, Content-Length bodies and chunked bodies alone, and finds each next request line', () => {
    const body = 'GET /\xe9 HTTP/1.1\r\n\r\n'; // looks like a request line, is a body
    const chunked = `${body.length.toString(16)}\r\n${body}\r\n3;ext=1\r\n\xe9\xe9\xe9\r\n0\r\nTrailer: \xe9\r\n\r\n`;
    const input = bytes(
      `POST /a\xe9 HTTP/1.1\r\nX-Raw: \xe9\r\nContent-Length: ${body.length}\r\n\r\n${body}` +
        `\r\nPOST /b\xe9 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n${chunked}` +
        'GET /c\xe9 HTTP/1.1\r\n\r\n',
    );
    const expected =
      `POST /a%E9 HTTP/1.1\r\nX-Raw: \xe9\r\nContent-Length: ${body.length}\r\n\r\n${body}` +
      `\r\nPOST /b%E9 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n${chunked}` +
      'GET /c%E9 HTTP/1.1\r\n\r\n';
    sameAtEverySplit(input, expected);
    const scanner = new TargetScanner();
    scanner.rewrite(input);
    // A request never handed to the host (/a) is skipped on the way to the one asked for.
    assert.equal(scanner.take('/b%E9')?.raw, '/b\xe9');
    assert.equal(scanner.take('/c%E9')?.raw, '/c\xe9');
  });

  it('a literal escape that equals a later raw target is not mistaken for it', () => {
    const scanner = new TargetScanner();
    scanner.rewrite(bytes('GET /x%E9 HTTP/1.1\r\n\r\nGET /x\xe9 HTTP/1.1\r\n\r\n'));
    assert.equal(scanner.take('/x%E9')?.raw, '/x%E9');
    assert.equal(scanner.take('/x%E9')?.raw, '/x\xe9');
  });

  for (const [name, head] of [
    ['CONNECT', 'CONNECT h:443 HTTP/1.1\r\n\r\n'],
    ['Upgrade', 'GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'],
    [
      'both Content-Length and chunked',
      'POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n',
    ],
    ['a repeated Content-Length', 'POST / HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n'],
    [
      'a transfer coding other than chunked last',
      'POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n',
    ],
    ['obsolete line folding', 'GET / HTTP/1.1\r\nX-A: 1\r\n folded\r\n\r\n'],
    ['a request line without version', 'GET /\xe9\r\n\r\n'],
    ['a bad chunk size', 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'],
    ['an over-long head', `GET / HTTP/1.1\r\nX-A: ${'a'.repeat(1 << 20)}\r\n\r\n`],
  ] as const) {
    it(`gives up on ${name}: the rest passes unchanged`, () => {
      const scanner = new TargetScanner();
      const rest = 'GET /\xe9 HTTP/1.1\r\n\r\n';
      const out = scanner.rewrite(bytes(head + rest)).toString('latin1');
      assert.ok(scanner.passingThrough);
      assert.ok(out.endsWith(rest), JSON.stringify(out));
    });
  }
});
