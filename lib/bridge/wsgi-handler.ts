// Adapts an App (the pipeline) to the FastCGI responder: FastCgiRequest -> environ, the App's
// startResponse -> the CGI status and headers, its body -> STDOUT. A body that throws
// propagates to the responder, which then closes without END_REQUEST (a truncated response).
import type { CgiResponse, FastCgiHandler, FastCgiRequest } from './fastcgi/handler.js';
import { buildEnviron } from './environ/build.js';
import { ResponseNotStartedError } from './errors.js';
import { defaultHeaderPolicy, type HeaderPolicy } from './headers/policy.js';
import type { App, Body } from './pipeline/types.js';

function iterable(body: Body): AsyncIterable<Uint8Array> {
  return body as AsyncIterable<Uint8Array>;
}

export function wsgiHandler(app: App, policy: HeaderPolicy = defaultHeaderPolicy): FastCgiHandler {
  return function handle(request: FastCgiRequest): Promise<CgiResponse> {
    const environ = buildEnviron(request, policy);
    let start: CgiResponse | undefined;
    return app(environ, (status, headers, reason) => {
      start =
        reason === undefined ? { status, headers, body: null } : { status, headers, reason, body: null };
    }).then((body) => {
      if (start === undefined) throw new ResponseNotStartedError();
      return { ...start, body: iterable(body) };
    });
  };
}
