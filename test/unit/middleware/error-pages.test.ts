import assert from 'node:assert/strict';
import {
  UpstreamBusyError,
  UpstreamTimeoutError,
  UpstreamUnreachableError,
} from '../../../lib/bridge/errors.js';
import { errorPages } from '../../../lib/bridge/middleware/error-pages/index.js';
import { captureStart, readBody, testEnviron } from '../../support/environ.js';

function header(headers: Array<[string, string]> | undefined, name: string): string | undefined {
  return headers?.find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1];
}

describe('middleware: error-pages', () => {
  const logged: string[] = [];
  const pages = errorPages({ log: (line) => logged.push(line) });

  it('502 as HTML for a browser, with no internals; the stack goes to the log', async () => {
    const captured = captureStart();
    const body = await pages(testEnviron({ HTTP_ACCEPT: 'text/html' }), captured.start, async () => {
      throw new UpstreamUnreachableError('http://127.0.0.1:5000', 'ECONNREFUSED: secret detail');
    });
    const text = (await readBody(body)).toString();
    assert.equal(captured.status, 502);
    assert.match(header(captured.headers, 'content-type') ?? '', /text\/html/);
    assert.match(text, /<h1>502 Bad Gateway<\/h1>/);
    assert.doesNotMatch(text, /ECONNREFUSED|127\.0\.0\.1|at /);
    assert.match(logged.at(-1) ?? '', /ERR_UPSTREAM_UNREACHABLE.*secret detail/s);
  });

  it('plain text for hg (Accept) and git (User-Agent)', async () => {
    const clients: Array<Record<string, string>> = [
      { HTTP_ACCEPT: 'application/mercurial-0.1' },
      { HTTP_USER_AGENT: 'git/2.43.0' },
    ];
    for (const params of clients) {
      const captured = captureStart();
      const body = await pages(testEnviron(params), captured.start, async () => {
        throw new UpstreamTimeoutError('http://x', 300);
      });
      assert.equal(captured.status, 504);
      assert.match(header(captured.headers, 'content-type') ?? '', /text\/plain/);
      const id = header(captured.headers, 'x-kallithea-isapi-error-id') ?? '';
      assert.equal(
        (await readBody(body)).toString(),
        `504 Gateway Timeout: Kallithea did not answer in time. (error id ${id})\n`,
      );
    }
  });

  it('503 carries Retry-After; an unknown error is a 500 without its message', async () => {
    const busy = captureStart();
    await pages(testEnviron(), busy.start, async () => {
      throw new UpstreamBusyError(10, 5);
    });
    assert.equal(busy.status, 503);
    assert.equal(header(busy.headers, 'retry-after'), '5');
    const other = captureStart();
    const body = await pages(testEnviron(), other.start, async () => {
      throw new TypeError('boom at internal.js:1');
    });
    assert.equal(other.status, 500);
    assert.doesNotMatch((await readBody(body)).toString(), /boom/);
  });

  it('rethrows once the response has started (the body is then cut, not replaced)', async () => {
    await assert.rejects(
      pages(testEnviron(), captureStart().start, async (_environ, start) => {
        start?.(200, []);
        throw new Error('late');
      }),
      /late/,
    );
  });
});
