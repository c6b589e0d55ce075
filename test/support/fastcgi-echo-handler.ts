// A FastCGI handler for responder tests: it answers with what it was sent. The params it
// saw come back as X-Echo-* headers. By path (DOCUMENT_URI or PATH_INFO):
//   .../digest  reads the body as it streams and answers "<bytes> <sha256 hex>"
//   .../stream  streams the body straight back while it arrives (full duplex)
//   otherwise   POST/PUT: reads the whole body, then echoes it byte for byte (as a WSGI
//               app that reads its input first); other methods: "<METHOD> <path>\n".
// nginx does not relay a full-duplex echo (it stops reading the request body once the
// response has started), so peer tests use the read-first and digest forms.
import { createHash } from 'node:crypto';
import type { CgiResponse, FastCgiHandler } from '../../lib/bridge/fastcgi/handler.js';

export async function* bodyOf(...chunks: (string | Uint8Array)[]): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
}

export const echoHandler: FastCgiHandler = async (request): Promise<CgiResponse> => {
  const method = request.params.get('REQUEST_METHOD') ?? '';
  const path = request.params.get('DOCUMENT_URI') ?? request.params.get('PATH_INFO') ?? '';
  const headers: [string, string][] = [
    ['Content-Type', 'application/octet-stream'],
    ['X-Echo-Method', method],
    ['X-Echo-Params', String(request.params.size)],
    ['X-Echo-Has-Secret', String(request.params.has('KALLITHEA_ISAPI_SECRET'))],
  ];
  if (path.endsWith('/stream')) return { status: 200, headers, body: request.stdin };
  if (path.endsWith('/digest')) {
    const hash = createHash('sha256');
    let bytes = 0;
    for await (const chunk of request.stdin as AsyncIterable<Buffer>) {
      hash.update(chunk);
      bytes += chunk.length;
    }
    return { status: 200, headers, body: bodyOf(`${bytes} ${hash.digest('hex')}`) };
  }
  if (method === 'POST' || method === 'PUT') {
    const chunks: Buffer[] = [];
    for await (const chunk of request.stdin as AsyncIterable<Buffer>) chunks.push(chunk);
    return {
      status: 200,
      headers: [...headers, ['Content-Length', String(Buffer.concat(chunks).length)]],
      body: bodyOf(...chunks),
    };
  }
  request.stdin.resume();
  return { status: 200, headers, body: bodyOf(`${method} ${path}\n`) };
};
