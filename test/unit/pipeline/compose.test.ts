// compose(): order, passing environ/startResponse on, the next()-twice guard, onError.
import assert from 'node:assert/strict';
import {
  NextCalledTwiceError,
  ResponseNotStartedError,
  UpstreamTimeoutError,
} from '../../../lib/bridge/errors.js';
import { compose } from '../../../lib/bridge/pipeline/compose.js';
import { bodyOf, type App, type Middleware } from '../../../lib/bridge/pipeline/types.js';
import { captureStart, readBody, testEnviron } from '../../support/environ.js';

const okApp: App = async (environ, startResponse) => {
  startResponse(200, [['X-Seen', environ.HTTP_X_TRACE ?? '']]);
  return bodyOf('ok');
};

describe('pipeline: compose', () => {
  it('runs middleware outermost first and lets them wrap startResponse', async () => {
    const trace = (mark: string): Middleware =>
      function trace(environ, startResponse, next) {
        environ.HTTP_X_TRACE = `${environ.HTTP_X_TRACE ?? ''}${mark}`;
        return next(environ, (status, headers) => startResponse(status, [...headers, ['X-Out', mark]]));
      };
    const captured = captureStart();
    const body = await compose([trace('a'), trace('b')], okApp)(testEnviron(), captured.start);
    assert.equal((await readBody(body)).toString(), 'ok');
    assert.equal(captured.status, 200);
    assert.deepEqual(captured.headers, [
      ['X-Seen', 'ab'],
      ['X-Out', 'b'],
      ['X-Out', 'a'],
    ]);
  });

  it('refuses a second next() call', async () => {
    const twice: Middleware = async function twice(_environ, _start, next) {
      await next();
      return next();
    };
    let seen: unknown;
    const app = compose([twice], okApp, {
      onError: async (error, _environ, startResponse) => {
        seen = error;
        startResponse(500, []);
        return bodyOf();
      },
    });
    // The first next() started the response, so the error is thrown, not rendered.
    await assert.rejects(app(testEnviron(), captureStart().start), NextCalledTwiceError);
    assert.equal(seen, undefined);
  });

  it('hands errors before the response started to onError', async () => {
    const failing: App = async () => {
      throw new UpstreamTimeoutError('http://x', 1);
    };
    const captured = captureStart();
    const body = await compose([], failing, {
      onError: async (error, _environ, startResponse) => {
        startResponse((error as UpstreamTimeoutError).status ?? 500, []);
        return bodyOf('rendered');
      },
    })(testEnviron(), captured.start);
    assert.equal(captured.status, 504);
    assert.equal((await readBody(body)).toString(), 'rendered');
  });

  it('turns an App that never starts the response into an error (default onError: bare 500)', async () => {
    const silent: App = async () => bodyOf('x');
    const captured = captureStart();
    let reported: unknown;
    await compose([], silent, {
      onError: async (error, _environ, startResponse) => {
        reported = error;
        startResponse(500, []);
        return bodyOf();
      },
    })(testEnviron(), captured.start);
    assert.ok(reported instanceof ResponseNotStartedError);
    const plain = captureStart();
    await compose([], silent)(testEnviron(), plain.start);
    assert.equal(plain.status, 500);
  });
});
