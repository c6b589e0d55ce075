// The boundary between the FastCGI responder (which speaks records on a socket) and
// everything above it (environ, pipeline, forwarder). The responder turns records into a
// FastCgiRequest, calls the handler, and writes the CgiResponse back as STDOUT records.
import type { Readable } from 'node:stream';
import type { RequestAbort } from './request-abort.js';

/** One FastCGI request in the responder role, as the web server (the DLL, nginx) sent it. */
export interface FastCgiRequest {
  /** FastCGI request id on its connection (for logs). */
  readonly requestId: number;
  /**
   * The PARAMS name-value pairs. Names and values are decoded as latin1, so every byte
   * survives one-to-one (`Buffer.from(value, 'latin1')` gives the bytes back).
   */
  readonly params: ReadonlyMap<string, string>;
  /**
   * The STDIN stream (request body); ends at the empty STDIN record. Honours backpressure.
   * Made on first use: most requests have no body.
   */
  readonly stdin: Readable;
  /**
   * True when the empty STDIN record had already arrived, with no body bytes before it, when
   * the handler was called: the request has no body, and `stdin` need not be read.
   */
  readonly stdinEmpty: boolean;
  /** Aborted on FCGI_ABORT_REQUEST or when the web server's connection goes away. */
  readonly abort: RequestAbort;
  /** `abort` as a standard AbortSignal (made on first use). */
  readonly signal: AbortSignal;
  /** Where a handler reports STDERR text (the DLL writes it to its log). */
  stderr(text: string): void;
}

/**
 * The response as a CGI program gives it: written as a `Status:` line, the headers and a
 * blank line, then the body, in STDOUT records.
 *
 * If `body` throws after the header block was sent, the responder closes the connection
 * without FCGI_END_REQUEST: the web server then treats the response as truncated (nginx:
 * "upstream prematurely closed"; the DLL: aborts the client's connection) instead of
 * ending it as if complete.
 */
export interface CgiResponse {
  readonly status: number;
  /** Reason phrase; the responder uses the standard one when absent. */
  readonly reason?: string;
  readonly headers: ReadonlyArray<readonly [name: string, value: string]>;
  readonly body: AsyncIterable<Uint8Array> | null;
}

export type FastCgiHandler = (request: FastCgiRequest) => Promise<CgiResponse>;

/** The FastCGI param that carries the per-launch hop secret (see architecture.md, Protocols). */
export const SECRET_PARAM = 'KALLITHEA_ISAPI_SECRET';
