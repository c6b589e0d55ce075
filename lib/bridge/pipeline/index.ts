// The bridge's standard pipeline, outermost first. Order matters: the access log sees the
// final status (error pages and the status page included), and the status page answers
// before anything is added for Kallithea. The header policy (headers/policy.ts) already cleared
// the request's hop-by-hop, asserted and identity headers when the environ was built, so
// iis-user and forwarded add the only copies of the headers the bridge asserts.
import { accessLog, type AccessLogOptions } from '../middleware/access-log/index.js';
import { errorPages } from '../middleware/error-pages/index.js';
import { forwarded } from '../middleware/forwarded/index.js';
import { iisUser } from '../middleware/iis-user/index.js';
import { kallitheaStarting } from '../middleware/kallithea-starting/index.js';
import { statusPage, type StatusPageOptions } from '../middleware/status-page/index.js';
import { compose } from './compose.js';
import type { App } from './types.js';

export interface StandardPipelineOptions {
  readonly userHeader: string;
  readonly accessLog: (line: string) => void;
  readonly errorLog: (line: string) => void;
  /** Counts for the status page, kept by the access log. */
  readonly tally?: AccessLogOptions['tally'];
  /** The status page; without it, its path goes to Kallithea like any other. */
  readonly status?: StatusPageOptions;
}

export function standardPipeline(app: App, options: StandardPipelineOptions): App {
  return compose(
    [
      accessLog({
        write: options.accessLog,
        ...(options.tally === undefined ? {} : { tally: options.tally }),
      }),
      errorPages({ log: options.errorLog }),
      ...(options.status === undefined ? [] : [statusPage(options.status)]),
      iisUser({ header: options.userHeader }),
      forwarded(),
      kallitheaStarting(),
    ],
    app,
  );
}
