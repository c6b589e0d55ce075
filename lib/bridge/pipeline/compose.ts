// compose(): middleware around an App, in order (the first middleware is the outermost).
// Neighbouring hooked middleware (hooks.ts) run as one layer. No async function here: each
// one was a promise and a frame per request.
import type { Environ } from '../environ/environ.js';
import { NextCalledTwiceError, ResponseNotStartedError } from '../errors.js';
import type { App, Body, ErrorHandler, Middleware, StartResponse } from './types.js';
import { bodyOf } from './types.js';
import { hookLayer, isHooked, type Hooks } from './hooks.js';

export interface ComposeOptions {
  /**
   * Called when a middleware or the App throws (or rejects) before the response started.
   * Default: a bare 500 with no detail (middleware such as error-pages renders better ones).
   */
  readonly onError?: ErrorHandler;
}

export function compose(middleware: readonly Middleware[], app: App, options: ComposeOptions = {}): App {
  const onError = options.onError ?? plainServerError;
  const chain = fuse(middleware);

  return function composed(environ: Environ, startResponse: StartResponse): Promise<Body> {
    // Tracks whether the response started, so that onError knows it may still answer.
    let started = false;
    const tracked: StartResponse = (status, headers, reason) => {
      started = true;
      startResponse(status, headers, reason);
    };

    const dispatch = (index: number, env: Environ, start: StartResponse): Promise<Body> => {
      if (index === chain.length) return runApp(app, env, start);
      const current = chain[index] as Middleware;
      let called = false;
      return current(env, start, (nextEnviron = env, nextStart = start) => {
        if (called) return Promise.reject(new NextCalledTwiceError(current.name || `#${index}`));
        called = true;
        return dispatch(index + 1, nextEnviron, nextStart);
      });
    };

    let result: Promise<Body>;
    try {
      result = dispatch(0, environ, tracked);
    } catch (error) {
      result = Promise.reject(error);
    }
    return result.catch((error: unknown) => {
      if (started) throw error;
      return onError(error, environ, tracked);
    });
  };
}

/** The chain with each run of hooked middleware as one layer. */
function fuse(middleware: readonly Middleware[]): Middleware[] {
  const chain: Middleware[] = [];
  let run: Hooks[] = [];
  const close = (): void => {
    if (run.length > 0) chain.push(hookLayerNamed(run));
    run = [];
  };
  for (const current of middleware) {
    if (isHooked(current)) {
      run.push(current.hooks);
      continue;
    }
    close();
    chain.push(current);
  }
  close();
  return chain;
}

function hookLayerNamed(hooks: Hooks[]): Middleware {
  const layer = hookLayer(hooks);
  Object.defineProperty(layer, 'name', { value: hooks.map((h) => h.name).join('+') });
  return layer;
}

/** Runs the App and checks that it started the response before handing back its body. */
function runApp(app: App, environ: Environ, startResponse: StartResponse): Promise<Body> {
  let started = false;
  return app(environ, (status, headers, reason) => {
    started = true;
    startResponse(status, headers, reason);
  }).then((body) => {
    if (!started) throw new ResponseNotStartedError();
    return body;
  });
}

async function plainServerError(
  _error: unknown,
  _environ: Environ,
  startResponse: StartResponse,
): Promise<Body> {
  startResponse(500, [['Content-Type', 'text/plain; charset=utf-8']]);
  return bodyOf('Internal Server Error\n');
}
