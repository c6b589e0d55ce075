// ServerSupportFunction requests beyond headers and DONE: redirect, MAP_URL_TO_PATH,
// IS_KEEP_CONN/IS_CONNECTED, CLOSE_CONNECTION, APPEND_LOG_PARAMETER, the deprecated
// SEND_RESPONSE_HEADER with a body in the header string, HSE_STATUS_ERROR, VECTOR_SEND, and
// FALSE + ERROR_INVALID_PARAMETER for anything unsupported.
import assert from 'node:assert/strict';
import { eventually, fetchBuffer, rawExchange, startHost, type RunningHost } from './support/harness.js';

describe('isapi-host ServerSupportFunction', () => {
  let running: RunningHost;
  before(async () => {
    running = await startHost('support_functions');
  });
  after(() => running.stop());

  const op = (name: string): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> =>
    fetchBuffer(running.url(`/kallithea/x?op=${name}`));

  it('SEND_URL_REDIRECT_RESP answers 302 with Location', async () => {
    const response = await op('redirect');
    assert.equal(response.status, 302);
    assert.equal(response.headers['location'], '/kallithea/elsewhere');
  });

  it('MAP_URL_TO_PATH maps under the physical path, with ERROR_INSUFFICIENT_BUFFER for a small buffer', async () => {
    const response = await op('map');
    assert.equal(response.body.toString(), 'probe=0:122 ok=1 path=C:\\inetpub\\kallithea\\a\\b.txt');
  });

  it('IS_KEEP_CONN and IS_CONNECTED write a BOOL', async () => {
    const request = (extra: string): Promise<Buffer> =>
      rawExchange(running.port, `GET /kallithea/x?op=keepconn HTTP/1.1\r\nHost: t\r\n${extra}\r\n`, (got) =>
        /connected=\d$/.test(got.toString('latin1')),
      );
    assert.match((await request('')).toString('latin1'), /keep=1 connected=1$/);
    assert.match((await request('Connection: close\r\n')).toString('latin1'), /keep=0 connected=1$/);
  });

  it('CLOSE_CONNECTION closes the connection (IS_CONNECTED is then FALSE)', async () => {
    const raw = await rawExchange(running.port, 'GET /kallithea/x?op=close HTTP/1.1\r\nHost: t\r\n\r\n');
    assert.match(raw.toString('latin1'), /^HTTP\/1\.1 200 OK/);
    assert.match(raw.toString('latin1'), /bye\n$/);
  });

  it('VECTOR_SEND sends the head, then the buffers in order, and keeps the connection', async () => {
    const twice = 'GET /kallithea/x?op=vector HTTP/1.1\r\nHost: t\r\n\r\n'.repeat(2);
    const raw = (
      await rawExchange(running.port, twice, (got) => got.toString('latin1').split('vector!').length === 3)
    ).toString('latin1');
    const answers = raw.split(/(?=HTTP\/1\.1 )/);
    assert.equal(answers.length, 2, raw);
    for (const answer of answers) {
      assert.match(answer, /^HTTP\/1\.1 200 OK\r\n/);
      assert.match(answer, /\r\nContent-Length: 7\r\n/i);
      assert.ok(answer.endsWith('\r\n\r\nvector!'), answer);
    }
  });

  it('VECTOR_SEND passes bytes >= 0x80 in the status text and header values on as they are', async () => {
    const raw = (
      await rawExchange(
        running.port,
        'GET /kallithea/x?op=vector_latin1 HTTP/1.1\r\nHost: t\r\n\r\n',
        (got) => got.toString('latin1').endsWith('vector!'),
      )
    ).toString('latin1');
    assert.ok(raw.startsWith('HTTP/1.1 200 Gr\xFC\xDF\r\n'), raw);
    assert.match(raw, /\r\nX-Place: caf\xE9\r\n/);
  });

  it('VECTOR_SEND with HSE_IO_DISCONNECT_AFTER_SEND closes the connection after the response', async () => {
    const twice = 'GET /kallithea/x?op=vector_close HTTP/1.1\r\nHost: t\r\n\r\n'.repeat(2);
    const raw = (await rawExchange(running.port, twice)).toString('latin1');
    assert.equal(raw.split('vector!').length, 2, raw); // one answer, then the close
    assert.match(raw, /\r\nConnection: close\r\n/i);
  });

  it('VECTOR_SEND past its Content-Length, without the verifier: refused and the connection ended, nothing leaks into the next response', async () => {
    const plain = await startHost('support_functions', { verify: false });
    try {
      const pipelined =
        'GET /kallithea/x?op=vector_overlong HTTP/1.1\r\nHost: t\r\n\r\n' +
        'GET /kallithea/x?op=vector HTTP/1.1\r\nHost: t\r\n\r\n';
      // Passed on, "tor!" would be read by the client as the start of the second response.
      const raw = (await rawExchange(plain.port, pipelined)).toString('latin1');
      assert.doesNotMatch(raw, /tor!|vector!/, raw);
      const next = await fetchBuffer(plain.url('/kallithea/x?op=vector'));
      assert.equal(next.body.toString(), 'vector!', 'the host serves on');
    } finally {
      await plain.stop();
    }
  });

  it('VECTOR_SEND refuses a file-handle element with ERROR_INVALID_PARAMETER, sending nothing', async () => {
    assert.equal((await op('vector_file')).body.toString(), 'refused:87');
  });

  it('unsupported requests fail with ERROR_INVALID_PARAMETER', async () => {
    assert.equal((await op('unknown')).body.toString(), '9999=0:87 exec_url=0:87');
  });

  it('APPEND_LOG_PARAMETER text appears in the access log', async () => {
    await op('log');
    assert.ok(
      await eventually(() =>
        running.accessLog.some((line) => line.includes('op=log') && line.endsWith(' hello-world')),
      ),
    );
  });

  it('the access log comes in batches (lines joined by LF), the last at close', async () => {
    const calls: string[] = [];
    const own = await startHost('support_functions', { accessLog: (lines) => calls.push(lines) });
    try {
      await Promise.all([1, 2, 3].map((n) => fetchBuffer(own.url(`/kallithea/x?op=log&n=${n}`))));
    } finally {
      await own.stop();
    }
    // Nothing awaited after close: the lines still in the batch went out before it resolved.
    const lines = calls.join('\n').split('\n');
    assert.deepEqual(lines.map((line) => /n=(\d)/.exec(line)?.[1]).sort(), ['1', '2', '3']);
    assert.ok(
      lines.every((line) => line.endsWith(' hello-world')),
      lines.join('\n'),
    );
    assert.ok(calls.length < 3, `${calls.length} calls`);
  });

  it('the deprecated SEND_RESPONSE_HEADER takes a body after the blank line', async () => {
    const response = await op('legacy');
    assert.equal(response.status, 201);
    assert.equal(response.body.toString(), 'legacy');
  });

  it('HSE_STATUS_ERROR before any header is a 500', async () => {
    assert.equal((await op('error')).status, 500);
  });

  it('HSE_STATUS_ERROR after a whole response closes the connection (no keep-alive)', async () => {
    const request = 'GET /kallithea/x?op=error_after_headers HTTP/1.1\r\nHost: t\r\n\r\n';
    const raw = (await rawExchange(running.port, request + request)).toString('latin1');
    assert.equal((raw.match(/HTTP\/1\.1 200 OK/g) ?? []).length, 1);
    assert.ok(raw.endsWith('\r\n\r\nok'));
  });

  it('requests outside the virtual directory get 404 from the host', async () => {
    assert.equal((await fetchBuffer(running.url('/other/x'))).status, 404);
    assert.equal((await fetchBuffer(running.url('/kallitheax'))).status, 404);
    assert.equal((await fetchBuffer(running.url('/KALLITHEA/x?op=keepconn'))).status, 200);
  });
});

describe('isapi-host raw responses', () => {
  for (const verify of [true, false]) {
    it(`sends a WriteClient of a whole response without a header call as raw bytes, as IIS does (verify: ${verify})`, async () => {
      const running = await startHost('support_functions', { verify });
      try {
        const raw = await rawExchange(running.port, 'GET /kallithea/x?op=raw HTTP/1.1\r\nHost: t\r\n\r\n');
        assert.equal(raw.toString('latin1'), 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-Raw: 1\r\n\r\nraw');
        assert.deepEqual(running.host.violations(), []);
      } finally {
        await running.stop();
      }
    });
  }
});
