// Hooked middleware (pipeline/hooks.ts) fused by compose() with wrapping middleware around
// and between them: the order each hook sees, one response state, error answers seen by the
// outer hooks only, and the end with the bytes sent.
import assert from 'node:assert/strict';
import { UpstreamTimeoutError } from '../../../lib/bridge/errors.js';
import { compose } from '../../../lib/bridge/pipeline/compose.js';
import { hooked, type Hooks, type ResponseState } from '../../../lib/bridge/pipeline/hooks.js';
import {
  bodyOf,
  type App,
  type Body,
  type Middleware,
  type StartResponse,
} from '../../../lib/bridge/pipeline/types.js';
import { captureStart, readBody, testEnviron } from '../../support/environ.js';

describe('pipeline: hooked middleware', () => {
  it('runs request hooks outermost first and response hooks innermost first, around wrapping middleware', async () => {
    const trace: string[] = [];
    const mark = (name: string) =>
      hooked({
        name,
        request: () => void trace.push(`request ${name}`),
        response: (_environ, response) => {
          trace.push(`response ${name} ${response.status}`);
          response.headers.push(['X-Seen', name]);
        },
      });
    const wrapping: Middleware = function wrapping(environ, startResponse, next) {
      trace.push('wrapping');
      return next(environ, (status, headers) => startResponse(status + 1, headers));
    };
    const app: App = async (_environ, startResponse) => {
      trace.push('app');
      startResponse(200, []);
      return bodyOf('ok');
    };
    const captured = captureStart();
    const body = await compose([mark('a'), mark('b'), wrapping, mark('c')], app)(
      testEnviron(),
      captured.start,
    );
    assert.equal((await readBody(body)).toString(), 'ok');
    assert.deepEqual(trace, [
      'request a',
      'request b',
      'wrapping',
      'request c',
      'app',
      'response c 200',
      'response b 201',
      'response a 201',
    ]);
    assert.equal(captured.status, 201);
    assert.deepEqual(captured.headers, [
      ['X-Seen', 'c'],
      ['X-Seen', 'b'],
      ['X-Seen', 'a'],
    ]);
  });

  it('lets an inner error hook rethrow and an outer one answer; only hooks outside the answer see it', async () => {
    const seen: string[] = [];
    const ends: Array<[number, number, unknown]> = [];
    const outer = hooked({
      name: 'outer',
      response: (_environ, response) => void seen.push(`outer saw ${response.status}`),
      end: (_environ, response, error) => void ends.push([response.status, response.bytes, error]),
    });
    const answering = hooked({
      name: 'answering',
      response: () => void seen.push('answering saw the response'),
      error: (error, _environ, startResponse) => {
        startResponse((error as UpstreamTimeoutError).status ?? 500, []);
        return bodyOf('page!');
      },
    });
    const passing = hooked({
      name: 'passing',
      error: (error) => {
        seen.push(`passing saw ${(error as Error).name}`);
        throw error;
      },
    });
    const failing: App = async () => {
      throw new UpstreamTimeoutError('http://x', 1);
    };
    const captured = captureStart();
    const body = await compose([outer, answering, passing], failing)(testEnviron(), captured.start);
    assert.equal(captured.status, 504);
    assert.deepEqual(ends, [], 'the end comes when the body is over');
    assert.equal((await readBody(body)).toString(), 'page!');
    assert.deepEqual(seen, ['passing saw UpstreamTimeoutError', 'outer saw 504']);
    assert.deepEqual(ends, [[504, 5, undefined]]);
  });

  it('ends with the error when nobody answers, and with the bytes so far when the body fails', async () => {
    const ends: Array<[ResponseState['status'], number, string]> = [];
    const watch = hooked({
      name: 'watch',
      end: (_environ, response, error) =>
        void ends.push([response.status, response.bytes, error instanceof Error ? error.message : 'none']),
    });
    const refusing: App = async () => {
      throw new Error('refused');
    };
    await assert.rejects(
      compose([watch, hooked({ name: 'none' })], refusing, { onError: rethrow })(
        testEnviron(),
        captureStart().start,
      ),
    );
    async function* cut(): AsyncIterable<Uint8Array> {
      yield Buffer.from('abc');
      throw new Error('cut');
    }
    const partial: App = async (_environ, startResponse) => {
      startResponse(200, []);
      return cut();
    };
    const body = await compose([watch], partial)(testEnviron(), captureStart().start);
    await assert.rejects(readBody(body), /cut/);
    assert.deepEqual(ends, [
      [0, 0, 'refused'],
      [200, 3, 'cut'],
    ]);
  });

  it('lets a hook answer by itself: the hooks inside it and the App never see the request', async () => {
    const trace: string[] = [];
    const tracing = (name: string): Hooks => ({
      name,
      request: () => void trace.push(`request ${name}`),
      response: (_environ, response) => void trace.push(`response ${name} ${response.status}`),
      error: (error) => {
        trace.push(`error ${name}`);
        throw error;
      },
      end: (_environ, response, error) =>
        void trace.push(`end ${name} ${response.bytes} ${error instanceof Error ? error.name : 'none'}`),
    });
    const mark = (name: string) => hooked(tracing(name));
    /** Answers /mine with `answer`, passes anything else on. */
    const answering = (answer: (startResponse: StartResponse) => Body | Promise<Body>) =>
      hooked({
        ...tracing('answering'),
        answer: (environ, startResponse) =>
          environ.PATH_INFO === '/mine' ? answer(startResponse) : undefined,
      });
    const app: App = async (_environ, startResponse) => {
      trace.push('app');
      startResponse(200, []);
      return bodyOf('app');
    };
    const own = answering((startResponse) => {
      startResponse(203, []);
      return bodyOf('mine');
    });
    const captured = captureStart();
    const body = await compose([mark('outer'), own, mark('inner')], app)(
      testEnviron({ PATH_INFO: '/mine' }),
      captured.start,
    );
    assert.equal((await readBody(body)).toString(), 'mine');
    assert.equal(captured.status, 203);
    assert.deepEqual(trace, [
      'request outer',
      'request answering',
      'response outer 203',
      'end answering 4 none',
      'end outer 4 none',
    ]);

    trace.length = 0;
    const passed = await compose([mark('outer'), own, mark('inner')], app)(
      testEnviron({ PATH_INFO: '/other' }),
      captureStart().start,
    );
    assert.equal((await readBody(passed)).toString(), 'app');
    assert.deepEqual(trace, [
      'request outer',
      'request answering',
      'request inner',
      'app',
      'response inner 200',
      'response answering 200',
      'response outer 200',
      'end inner 3 none',
      'end answering 3 none',
      'end outer 3 none',
    ]);

    // An answer that fails goes to the error hooks outside the answering one only.
    trace.length = 0;
    const failing = answering(() => Promise.reject(new UpstreamTimeoutError('http://x', 1)));
    await assert.rejects(
      compose([mark('outer'), failing, mark('inner')], app, { onError: rethrow })(
        testEnviron({ PATH_INFO: '/mine' }),
        captureStart().start,
      ),
      UpstreamTimeoutError,
    );
    assert.deepEqual(trace, [
      'request outer',
      'request answering',
      'error outer',
      'end answering 0 UpstreamTimeoutError',
      'end outer 0 UpstreamTimeoutError',
    ]);
  });

  it('works alone as a plain Middleware', async () => {
    const environ = testEnviron();
    const tag = hooked({ name: 'tag', request: (env) => void (env.HTTP_X_TAG = 'on') });
    const captured = captureStart();
    await tag(environ, captured.start, async (_environ, startResponse) => {
      startResponse?.(204, []);
      return bodyOf();
    });
    assert.equal(environ.HTTP_X_TAG, 'on');
    assert.equal(captured.status, 204);
    assert.equal(tag.name, 'tag');
  });
});

async function rethrow(error: unknown): Promise<never> {
  throw error;
}
