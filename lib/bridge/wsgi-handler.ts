// Adapts an App (the pipeline) to the FastCGI responder: FastCgiRequest -> environ, the App's
// startResponse -> the CGI status and headers, its body -> STDOUT. A body that throws
// propagates to the responder, which then closes without END_REQUEST (a truncated response).
import type { CgiResponse, FastCgiHandler, FastCgiRequest } from './fastcgi/handler.js';
import { buildEnviron } from './environ/build.js';
import { ResponseNotStartedError } from './errors.js';
import { defaultHeaderPolicy, type HeaderPolicy } from './headers/policy.js';
import type { App, Body, ResponseHeaders } from './pipeline/types.js';

function iterable(body: Body): AsyncIterable<Uint8Array> {
  return body as AsyncIterable<Uint8Array>;
}

export function wsgiHandler(app: App, policy: HeaderPolicy = defaultHeaderPolicy): FastCgiHandler {
  return async function handle(request: FastCgiRequest): Promise<CgiResponse> {
    const environ = buildEnviron(request, policy);
    let start: { status: number; headers: ResponseHeaders; reason: string | undefined } | undefined;
    const body = await app(environ, (status, headers, reason) => {
      start = { status, headers, reason };
    });
    if (start === undefined) throw new ResponseNotStartedError();
    const response: CgiResponse = {
      status: start.status,
      headers: start.headers,
      body: iterable(body),
    };
    return start.reason === undefined ? response : { ...response, reason: start.reason };
  };
}
