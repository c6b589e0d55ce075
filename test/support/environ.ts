// A minimal environ for unit tests of middleware and apps.
import { PassThrough, type Readable } from 'node:stream';
import { buildEnviron } from '../../lib/bridge/environ/build.js';
import type { Environ } from '../../lib/bridge/environ/environ.js';
import { RequestAbort } from '../../lib/bridge/fastcgi/request-abort.js';
import type { Body, ResponseHeaders, StartResponse } from '../../lib/bridge/pipeline/types.js';

export function testEnviron(
  params: Record<string, string> = {},
  stdin?: Readable,
  signal?: AbortSignal,
): Environ {
  const input = stdin ?? new PassThrough();
  if (stdin === undefined) (input as PassThrough).end();
  const abort = new RequestAbort();
  if (signal?.aborted === true) abort.abort(signal.reason);
  signal?.addEventListener('abort', () => abort.abort(signal.reason), { once: true });
  return buildEnviron({
    params: new Map(Object.entries({ REQUEST_METHOD: 'GET', REQUEST_URI: '/', ...params })),
    stdin: input,
    stdinEmpty: false,
    abort,
  });
}

export interface Captured {
  status?: number;
  headers?: ResponseHeaders;
  reason?: string | undefined;
  start: StartResponse;
}

export function captureStart(): Captured {
  const captured: Captured = {
    start: (status, headers, reason) => {
      captured.status = status;
      captured.headers = headers;
      captured.reason = reason;
    },
  };
  return captured;
}

export async function readBody(body: Body): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}
