// How the request body is framed towards Kallithea. With CONTENT_LENGTH known the body is
// sent with that Content-Length; without it (a chunked upload, or a web server that does
// not say) the first read decides: an immediately empty STDIN means no body at all, anything
// else is streamed chunked. The stream is never read ahead beyond that first chunk.
import type { Readable } from 'node:stream';
import type { Environ } from '../environ/environ.js';
import { InvalidRequestError } from '../errors.js';
import type { RequestAbort } from '../fastcgi/request-abort.js';

export interface RequestBody {
  readonly body: Readable | null;
  /** The Content-Length to send, or null to let the body be chunked (or absent). */
  readonly contentLength: number | null;
}

/** Resolves once the stream has a chunk to read (put back) or has ended empty (false). */
function hasData(stream: Readable, abort: RequestAbort): Promise<boolean> {
  if (stream.readableEnded) return Promise.resolve(false);
  return new Promise((resolve, reject) => {
    const done = (): void => {
      stream.off('readable', onReadable);
      stream.off('end', onEnd);
      stream.off('error', onError);
      abort.off(onAbort);
    };
    const onReadable = (): void => {
      const chunk: unknown = stream.read();
      if (chunk === null) return; // 'end' follows when the stream is over
      done();
      stream.unshift(chunk as Buffer);
      resolve(true);
    };
    const onEnd = (): void => {
      done();
      resolve(false);
    };
    const onError = (error: Error): void => {
      done();
      reject(error);
    };
    const onAbort = (reason: unknown): void => {
      done();
      reject(reason);
    };
    stream.on('readable', onReadable);
    stream.on('end', onEnd);
    stream.on('error', onError);
    if (abort.aborted) return onAbort(abort.reason);
    abort.on(onAbort);
  });
}

const NO_BODY: RequestBody = { body: null, contentLength: null };
const EMPTY_BODY: RequestBody = { body: null, contentLength: 0 };

/** Sync when the framing is known without reading (every GET): a promise only for a body to probe. */
export function requestBody(environ: Environ): RequestBody | Promise<RequestBody> {
  const empty = environ['kallithea_isapi.input_empty'];
  if (environ.CONTENT_LENGTH !== '') {
    const length = Number(environ.CONTENT_LENGTH);
    // Digits only (buildEnviron checked), but not every run of digits is a length.
    if (!Number.isSafeInteger(length)) {
      throw new InvalidRequestError(`CONTENT_LENGTH of ${environ.CONTENT_LENGTH.length} digits`);
    }
    if (length === 0) {
      // Drain the empty STDIN so the responder sees it consumed.
      if (!empty) environ['wsgi.input'].resume();
      return EMPTY_BODY;
    }
    return { body: environ['wsgi.input'], contentLength: length };
  }
  if (empty) return NO_BODY;
  const input = environ['wsgi.input'];
  return hasData(input, environ['kallithea_isapi.abort']).then((data) =>
    data ? { body: input, contentLength: null } : NO_BODY,
  );
}
