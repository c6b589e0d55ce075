import assert from 'node:assert/strict';
import { UpstreamBodyError } from '../../../lib/bridge/errors.js';
import { accessLog } from '../../../lib/bridge/middleware/access-log/index.js';
import { bodyOf } from '../../../lib/bridge/pipeline/types.js';
import { captureStart, readBody, testEnviron } from '../../support/environ.js';

describe('middleware: access-log', () => {
  it('writes method, raw target, status, bytes, ms and user once the body is sent', async () => {
    const lines: string[] = [];
    const environ = testEnviron({
      REQUEST_METHOD: 'POST',
      REQUEST_URI: '/repo/a%2Fb?cmd=unbundle',
      REMOTE_ADDR: '10.0.0.9',
      REMOTE_USER: 'alice',
    });
    const body = await accessLog({ write: (line) => lines.push(line) })(
      environ,
      captureStart().start,
      async (_e, start) => {
        start?.(201, []);
        return bodyOf('abc', 'de');
      },
    );
    assert.equal(lines.length, 0);
    await readBody(body);
    assert.equal(lines.length, 1);
    assert.match(lines[0] ?? '', /^\S+Z 10\.0\.0\.9 alice "POST \/repo\/a%2Fb\?cmd=unbundle" 201 5 \d+ms$/);
  });

  it('marks a response cut short by an upstream failure', async () => {
    const lines: string[] = [];
    async function* failing(): AsyncIterable<Uint8Array> {
      yield Buffer.from('xy');
      throw new UpstreamBodyError('http://x', 'reset');
    }
    const body = await accessLog({ write: (line) => lines.push(line) })(
      testEnviron(),
      captureStart().start,
      async (_e, start) => {
        start?.(200, []);
        return failing();
      },
    );
    await assert.rejects(readBody(body), UpstreamBodyError);
    assert.match(lines[0] ?? '', / - "GET \/" 200 2 \d+ms error=ERR_UPSTREAM_BODY$/);
  });

  it('names the worker that served the request, before the outcome', async () => {
    const lines: string[] = [];
    async function* failing(): AsyncIterable<Uint8Array> {
      yield Buffer.from('xy');
      throw new UpstreamBodyError('worker w2', 'reset');
    }
    const environ = testEnviron();
    const body = await accessLog({ write: (line) => lines.push(line) })(
      environ,
      captureStart().start,
      async (_e, start) => {
        // The forwarder sets it once a worker is leased.
        environ['kallithea_isapi.worker'] = 'w2';
        start?.(200, []);
        return failing();
      },
    );
    await assert.rejects(readBody(body), UpstreamBodyError);
    assert.match(lines[0] ?? '', / - "GET \/" 200 2 \d+ms worker=w2 error=ERR_UPSTREAM_BODY$/);
  });
});
