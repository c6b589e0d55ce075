// A FastCGI handler for responder tests: it answers with what it was sent. POST and PUT
// bodies stream back byte for byte (stdin piped into the body, so backpressure runs both
// ways); other methods get "<METHOD> <path>\n". The params it saw come back as headers.
import type { CgiResponse, FastCgiHandler } from '../../lib/bridge/fastcgi/handler.js';

export async function* bodyOf(...chunks: (string | Uint8Array)[]): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
}

export const echoHandler: FastCgiHandler = async (request): Promise<CgiResponse> => {
  const method = request.params.get('REQUEST_METHOD') ?? '';
  const headers: [string, string][] = [
    ['Content-Type', 'application/octet-stream'],
    ['X-Echo-Method', method],
    ['X-Echo-Params', String(request.params.size)],
    ['X-Echo-Has-Secret', String(request.params.has('KALLITHEA_ISAPI_SECRET'))],
  ];
  if (method === 'POST' || method === 'PUT') {
    return { status: 200, headers, body: request.stdin };
  }
  request.stdin.resume();
  const path = request.params.get('DOCUMENT_URI') ?? request.params.get('PATH_INFO') ?? '';
  return { status: 200, headers, body: bodyOf(`${method} ${path}\n`) };
};
