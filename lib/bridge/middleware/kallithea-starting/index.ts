// Kallithea starting: until Kallithea has answered once since the bridge started, a request
// that cannot reach it is 503 with Retry-After ("starting, retry") instead of 502. After the
// first answer, an unreachable Kallithea is a fault again (502). Sits innermost, next to the
// forwarder, so that any response status Kallithea sent counts as an answer.
import { UpstreamStartingError, UpstreamUnreachableError } from '../../errors.js';
import { hooked, type HookedMiddleware } from '../../pipeline/hooks.js';

export interface KallitheaStartingOptions {
  /** Seconds for Retry-After. Default 5. */
  readonly retryAfter?: number;
}

export function kallitheaStarting(options: KallitheaStartingOptions = {}): HookedMiddleware {
  const retryAfter = options.retryAfter ?? 5;
  let answered = false;
  return hooked({
    name: 'kallitheaStarting',
    response() {
      answered = true;
    },
    error(error) {
      if (answered || !(error instanceof UpstreamUnreachableError)) throw error;
      throw new UpstreamStartingError(error, retryAfter);
    },
  });
}
