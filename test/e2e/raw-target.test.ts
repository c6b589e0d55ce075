// A raw (unescaped) UTF-8 request-target through the whole path, as http.sys would take it:
// client -> isapi-host -> kallithea_isapi.so -> bridge -> upstream, on a keep-alive
// connection behind a POST whose body holds raw bytes. The upstream gets the target's
// bytes as sent (the bridge builds it from UNENCODED_URL).
import assert from 'node:assert/strict';
import { rawExchange } from '../native/support/harness.js';
import { startRawTargetUpstream } from '../support/upstream.js';
import { startStack, waitForBridge, type Stack } from './support/stack.js';

describe('e2e: raw UTF-8 in the request-target', function () {
  this.timeout(60_000);
  let upstream: Awaited<ReturnType<typeof startRawTargetUpstream>>;
  let stack: Stack;

  before(async () => {
    upstream = await startRawTargetUpstream();
    stack = await startStack({ upstream: upstream.origin });
    await waitForBridge(stack);
  });
  after(async () => {
    await stack?.stop();
    await upstream?.stop();
  });

  it('reaches the upstream byte for byte, behind a POST on the same connection', async () => {
    const target = Buffer.from('/répo/日本/café?q=ü', 'utf8').toString('latin1');
    const body = 'GET /\xe9 HTTP/1.1\r\n\r\n\xff';
    const raw = await rawExchange(
      stack.host.port,
      Buffer.from(
        `POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: ${body.length}\r\n\r\n${body}` +
          `GET ${target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n`,
        'latin1',
      ),
    );
    const text = raw.toString('latin1');
    const answers = [...text.matchAll(/HTTP\/1\.1 (\d{3})[^]*?\r\n\r\n(\{[^}]*\})/g)];
    assert.deepEqual(
      answers.map((a) => a[1]),
      ['200', '200'],
      text,
    );
    const seen = answers.map((a) =>
      Buffer.from((JSON.parse(a[2] ?? '{}') as { target: string }).target, 'base64'),
    );
    assert.deepEqual(seen[0], Buffer.from('/up'));
    assert.deepEqual(seen[1], Buffer.from(target, 'latin1'));
    assert.deepEqual(stack.violations(), []);
  });
});
