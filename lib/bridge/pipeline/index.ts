// The bridge's standard pipeline, outermost first. Order matters: the access log sees the
// final status (error pages included); hop-by-hop and strip-asserted clear the request
// before iis-user and forwarded add the headers the bridge asserts.
import { accessLog } from '../middleware/access-log/index.js';
import { errorPages } from '../middleware/error-pages/index.js';
import { forwarded } from '../middleware/forwarded/index.js';
import { hopByHop } from '../middleware/hop-by-hop/index.js';
import { iisUser } from '../middleware/iis-user/index.js';
import { kallitheaStarting } from '../middleware/kallithea-starting/index.js';
import { stripAsserted } from '../middleware/strip-asserted/index.js';
import { compose } from './compose.js';
import type { App } from './types.js';

export interface StandardPipelineOptions {
  readonly userHeader: string;
  readonly accessLog: (line: string) => void;
  readonly errorLog: (line: string) => void;
}

export function standardPipeline(app: App, options: StandardPipelineOptions): App {
  return compose(
    [
      accessLog({ write: options.accessLog }),
      errorPages({ log: options.errorLog }),
      hopByHop(),
      stripAsserted({ userHeader: options.userHeader }),
      iisUser({ header: options.userHeader }),
      forwarded(),
      kallitheaStarting(),
    ],
    app,
  );
}
