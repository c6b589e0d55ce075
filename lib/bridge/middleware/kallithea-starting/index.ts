// Kallithea starting: until Kallithea has answered once since the bridge started, a request
// that cannot reach it is 503 with Retry-After ("starting, retry") instead of 502. After the
// first answer, an unreachable Kallithea is a fault again (502). Sits innermost, next to the
// forwarder, so that any response status Kallithea sent counts as an answer.
import { UpstreamStartingError, UpstreamUnreachableError } from '../../errors.js';
import type { Middleware, StartResponse } from '../../pipeline/types.js';

export interface KallitheaStartingOptions {
  /** Seconds for Retry-After. Default 5. */
  readonly retryAfter?: number;
}

export function kallitheaStarting(options: KallitheaStartingOptions = {}): Middleware {
  const retryAfter = options.retryAfter ?? 5;
  let answered = false;
  return async function kallitheaStarting(environ, startResponse, next) {
    if (answered) return next(environ, startResponse);
    const noting: StartResponse = (status, headers, reason) => {
      answered = true;
      startResponse(status, headers, reason);
    };
    try {
      return await next(environ, noting);
    } catch (error) {
      if (answered || !(error instanceof UpstreamUnreachableError)) throw error;
      throw new UpstreamStartingError(error, retryAfter);
    }
  };
}
