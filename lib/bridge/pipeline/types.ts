// The pipeline's public types: the extension point for anyone adding a middleware. Shaped
// like WSGI (app(environ, start_response) -> body) with async bodies, and composed like
// hono/koa middleware (a `next` to call at most once).
import type { Readable } from 'node:stream';
import type { Environ } from '../environ/environ.js';

/** Response headers in order, names as the application spelt them; repeats allowed. */
export type ResponseHeaders = Array<[name: string, value: string]>;

/**
 * Starts the response: must be called exactly once, before the App's promise resolves.
 * `reason` defaults to the standard phrase for `status`.
 */
export type StartResponse = (status: number, headers: ResponseHeaders, reason?: string) => void;

/**
 * A response body. Iterated with backpressure; an error while iterating truncates the response.
 * A middleware that wraps the body may keep its chunks: the server reuses a chunk's memory
 * only for the forwarder's body passed on as it came (body-chunks.ts).
 */
export type Body = AsyncIterable<Uint8Array> | Readable;

/** An application: the forwarder is one. */
export type App = (environ: Environ, startResponse: StartResponse) => Promise<Body>;

/**
 * Calls the rest of the pipeline. A middleware may pass a changed environ or a wrapping
 * startResponse (to see or change the status and headers on the way out).
 */
export type Next = (environ?: Environ, startResponse?: StartResponse) => Promise<Body>;

/**
 * A middleware: a named function (factories return one, so logs and errors can name it)
 * that calls `next` at most once, or answers by itself without calling it.
 */
export type Middleware = (environ: Environ, startResponse: StartResponse, next: Next) => Promise<Body>;

/** Renders an error that escaped the pipeline before the response started. */
export type ErrorHandler = (error: unknown, environ: Environ, startResponse: StartResponse) => Promise<Body>;

/** A body of one chunk (or none). */
export async function* bodyOf(...chunks: Array<Uint8Array | string>): AsyncIterable<Uint8Array> {
  for (const chunk of chunks) yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
}
