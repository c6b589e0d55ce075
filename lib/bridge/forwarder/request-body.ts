// How the request body is framed towards Kallithea. With CONTENT_LENGTH known the body is
// sent with that Content-Length; without it (a chunked upload, or a web server that does
// not say) the first read decides: an immediately empty STDIN means no body at all, anything
// else is streamed chunked. The stream is never read ahead beyond that first chunk.
import type { Readable } from 'node:stream';
import type { Environ } from '../environ/environ.js';
import { InvalidRequestError } from '../errors.js';

export interface RequestBody {
  readonly body: Readable | null;
  /** The Content-Length to send, or null to let the body be chunked (or absent). */
  readonly contentLength: number | null;
}

/** Resolves once the stream has a chunk to read (put back) or has ended empty (false). */
function hasData(stream: Readable, signal: AbortSignal): Promise<boolean> {
  if (stream.readableEnded) return Promise.resolve(false);
  return new Promise((resolve, reject) => {
    const done = (): void => {
      stream.off('readable', onReadable);
      stream.off('end', onEnd);
      stream.off('error', onError);
      signal.removeEventListener('abort', onAbort);
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
    const onAbort = (): void => {
      done();
      reject(signal.reason);
    };
    stream.on('readable', onReadable);
    stream.on('end', onEnd);
    stream.on('error', onError);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export async function requestBody(environ: Environ): Promise<RequestBody> {
  const input = environ['wsgi.input'];
  if (environ.CONTENT_LENGTH !== '') {
    const length = Number(environ.CONTENT_LENGTH);
    // Digits only (buildEnviron checked), but not every run of digits is a length.
    if (!Number.isSafeInteger(length)) {
      throw new InvalidRequestError(`CONTENT_LENGTH of ${environ.CONTENT_LENGTH.length} digits`);
    }
    if (length === 0) {
      input.resume(); // drain the empty STDIN so the responder sees it consumed
      return { body: null, contentLength: 0 };
    }
    return { body: input, contentLength: length };
  }
  if (await hasData(input, environ['kallithea_isapi.signal'])) return { body: input, contentLength: null };
  return { body: null, contentLength: null };
}
