// Middleware as hooks: the cheap form for what most middleware do (change the environ on
// the way in, look at or change the response head on the way out, answer a failure, note
// the end). A wrapping Middleware costs an async frame, a startResponse wrapper and often a
// body wrapper per request each; compose() runs neighbouring hooked middleware as one layer
// instead: the request hooks in a loop, one ResponseState for the whole layer, one promise
// reaction for the App's answer and at most one body wrapper (only when a hook wants the end).
//
// hooked() still returns a Middleware (a function with the usual contract), so a hooked
// middleware can be used and tested alone like any other; compose() sees its `hooks` and
// fuses it with its hooked neighbours.
import { passesChunksThrough, type PassesChunksThrough } from '../body-chunks.js';
import type { Environ } from '../environ/environ.js';
import { ClientAbortedError } from '../errors.js';
import type { Body, Middleware, Next, ResponseHeaders, StartResponse } from './types.js';

/** The response of one request as it stands: one object that every hook of a layer shares. */
export interface ResponseState {
  /** 0 until the response started. */
  status: number;
  headers: ResponseHeaders;
  reason: string | undefined;
  /** Body bytes handed on so far. */
  bytes: number;
}

export interface Hooks {
  /** Names the middleware in errors and logs. */
  readonly name: string;
  /** Before the App (outermost hook first): may change the environ. */
  readonly request?: (environ: Environ) => void;
  /**
   * Right after this hook's `request`: answer the request here instead of passing it on (the
   * status page), by calling startResponse and returning the Body, or a promise of it; or
   * undefined to pass it on. The hooks inside this one then never see the request; those
   * outside see the answer as they would the App's, and its failure as they would the App's.
   */
  readonly answer?: (environ: Environ, startResponse: StartResponse) => Body | Promise<Body> | undefined;
  /** The response starts (innermost first): may change its status, headers and reason. */
  readonly response?: (environ: Environ, response: ResponseState) => void;
  /**
   * Something inside failed before the response started (innermost first): answer with
   * startResponse and a Body, or throw (the same error or another) to pass it outwards.
   */
  readonly error?: (error: unknown, environ: Environ, startResponse: StartResponse) => Body;
  /**
   * The response is over: `error` is undefined when the body was sent whole, else why it
   * was not (ClientAbortedError when it was given up). Also called when no response started.
   */
  readonly end?: (environ: Environ, response: ResponseState, error: unknown) => void;
}

/** A Middleware made of hooks; compose() fuses neighbouring ones into one layer. */
export type HookedMiddleware = Middleware & { readonly hooks: Hooks };

export function hooked(hooks: Hooks): HookedMiddleware {
  const run = hookLayer([hooks]);
  Object.defineProperty(run, 'name', { value: hooks.name });
  return Object.assign(run, { hooks });
}

export function isHooked(middleware: Middleware): middleware is HookedMiddleware {
  return 'hooks' in middleware;
}

/** One layer for `hooks` (outermost first), as a Middleware. */
export function hookLayer(hooks: readonly Hooks[]): Middleware {
  return function hooks_(environ: Environ, startResponse: StartResponse, next: Next): Promise<Body> {
    const response: ResponseState = { status: 0, headers: [], reason: undefined, bytes: 0 };
    /** Hooks that saw the request: all of them, or up to the one that answered it. */
    let reached = hooks.length;
    /** Hooks a failure came from inside of: the answering hook is outside its own answer. */
    let inside = hooks.length;
    /** The start for an answer from hook `from`: the hooks outside it see it first. */
    const startFrom =
      (from: number): StartResponse =>
      (status, headers, reason) => {
        response.status = status;
        response.headers = headers;
        response.reason = reason;
        for (let i = from; i >= 0; i -= 1) (hooks[i] as Hooks).response?.(environ, response);
        startResponse(response.status, response.headers, response.reason);
      };
    const finish = (error: unknown): void => {
      for (let i = reached - 1; i >= 0; i -= 1) (hooks[i] as Hooks).end?.(environ, response, error);
    };
    const answered = (body: Body): Body => (hasEnd(hooks, reached) ? watched(body, response, finish) : body);
    /** A failure inside the hooks that saw the request: the error hooks outside it may answer. */
    const failed = (error: unknown): Body => {
      let failure = error;
      if (response.status === 0) {
        for (let i = inside - 1; i >= 0; i -= 1) {
          const answer = (hooks[i] as Hooks).error;
          if (answer === undefined) continue;
          try {
            return answered(answer(failure, environ, startFrom(i - 1)));
          } catch (next) {
            failure = next;
          }
        }
      }
      finish(failure);
      throw failure;
    };
    let inner: Promise<Body> | undefined;
    for (let i = 0; i < hooks.length && inner === undefined; i += 1) {
      const h = hooks[i] as Hooks;
      h.request?.(environ);
      if (h.answer === undefined) continue;
      try {
        const body = h.answer(environ, startFrom(i - 1));
        if (body !== undefined) inner = Promise.resolve(body);
      } catch (error) {
        inner = Promise.reject(error);
      }
      if (inner === undefined) continue;
      reached = i + 1;
      inside = i;
    }
    if (inner === undefined) {
      try {
        inner = next(environ, startFrom(hooks.length - 1));
      } catch (error) {
        inner = Promise.reject(error);
      }
    }
    return inner.then(answered, failed);
  };
}

/** Whether any of the first `count` hooks wants the end. */
function hasEnd(hooks: readonly Hooks[], count: number): boolean {
  for (let i = 0; i < count; i += 1) if ((hooks[i] as Hooks).end !== undefined) return true;
  return false;
}

/**
 * The body passed through, its bytes counted into `response`; `finish` is called once, when
 * it ends, fails or is given up (return()). A plain iterator rather than an async generator:
 * one promise reaction per chunk instead of a generator's several; and a class rather than
 * an object literal keyed by Symbol.asyncIterator, which V8 builds in its slow path.
 */
function watched(body: Body, response: ResponseState, finish: (error: unknown) => void): Body {
  return new WatchedBody((body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator](), response, finish);
}

class WatchedBody implements AsyncIterable<Uint8Array>, AsyncIterator<Uint8Array>, PassesChunksThrough {
  readonly #inner: AsyncIterator<Uint8Array>;
  readonly #response: ResponseState;
  readonly #finish: (error: unknown) => void;
  #finished = false;
  /** Counting keeps no chunk: as the body it watches. */
  readonly passesChunksThrough: boolean;

  constructor(inner: AsyncIterator<Uint8Array>, response: ResponseState, finish: (error: unknown) => void) {
    this.#inner = inner;
    this.#response = response;
    this.#finish = finish;
    this.passesChunksThrough = passesChunksThrough(inner);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<Uint8Array>> {
    return this.#inner.next().then(this.#counted, this.#failed);
  }

  async return(): Promise<IteratorResult<Uint8Array>> {
    this.#once(new ClientAbortedError());
    return (await this.#inner.return?.()) ?? { done: true, value: undefined };
  }

  readonly #counted = (result: IteratorResult<Uint8Array>): IteratorResult<Uint8Array> => {
    if (result.done === true) this.#once(undefined);
    else this.#response.bytes += result.value.byteLength;
    return result;
  };

  readonly #failed = (error: unknown): never => {
    this.#once(error);
    throw error;
  };

  #once(error: unknown): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#finish(error);
  }
}
