// nginx as the web server in front of the responder (`fastcgi_pass` to a Unix socket,
// kept-alive upstream connections, unbuffered both ways), with an echo handler: GET,
// HEAD, POST bodies echoed byte for byte, and many requests over one FastCGI connection.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FastCgiServer } from '../../lib/bridge/fastcgi/server.js';
import { echoHandler } from '../support/fastcgi-echo-handler.js';
import { httpConf, startNginx, type RunningNginx } from '../support/nginx.js';

const SECRET = 'nginx-peer-secret';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function send(
  port: number,
  method: string,
  path: string,
  body?: Buffer | (() => AsyncIterable<Buffer>),
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = {};
    if (Buffer.isBuffer(body)) headers['Content-Length'] = body.length;
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body === undefined) req.end();
    else if (Buffer.isBuffer(body)) req.end(body);
    else {
      // No Content-Length: node sends the body chunked.
      void (async () => {
        for await (const chunk of body())
          if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
        req.end();
      })();
    }
  });
}

describe('nginx as a FastCGI client of the responder', function () {
  this.timeout(20_000);
  let dir: string;
  let server: FastCgiServer;
  let nginx: RunningNginx;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fcgi-nginx-'));
    server = new FastCgiServer({ secret: SECRET, handler: echoHandler, log: () => {} });
    const socket = join(dir, 'bridge.sock');
    await server.listen(`unix:${socket}`);
    nginx = await startNginx({
      conf: ({ port, dir: nginxDir }) =>
        httpConf({
          port,
          dir: nginxDir,
          http: `upstream bridge { server unix:${socket}; keepalive 8; }`,
          server: `
            client_max_body_size 0;
            location / {
              fastcgi_pass bridge;
              fastcgi_keep_conn on;
              fastcgi_request_buffering off;
              fastcgi_buffering off;
              fastcgi_param REQUEST_METHOD $request_method;
              fastcgi_param CONTENT_LENGTH $content_length;
              fastcgi_param CONTENT_TYPE $content_type;
              fastcgi_param DOCUMENT_URI $document_uri;
              fastcgi_param QUERY_STRING $query_string;
              fastcgi_param SERVER_PROTOCOL $server_protocol;
              fastcgi_param KALLITHEA_ISAPI_SECRET ${SECRET};
            }`,
        }),
    });
  });
  after(async () => {
    await nginx?.stop();
    await server?.close(1000);
    rmSync(dir, { recursive: true, force: true });
  });

  it('GET', async () => {
    const reply = await send(nginx.port, 'GET', '/some/path?q=1');
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['x-echo-method'], 'GET');
    assert.equal(reply.headers['x-echo-has-secret'], 'false');
    assert.equal(reply.body.toString(), 'GET /some/path\n');
  });

  it('HEAD: headers, no body', async () => {
    const reply = await send(nginx.port, 'HEAD', '/head');
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['x-echo-method'], 'HEAD');
    assert.equal(reply.body.length, 0);
  });

  it('POST with Content-Length: 3 MiB echoed byte for byte', async () => {
    const body = randomBytes(3 * 1024 * 1024);
    const reply = await send(nginx.port, 'POST', '/upload', body);
    assert.equal(reply.status, 200);
    assert.equal(reply.body.length, body.length);
    assert.ok(reply.body.equals(body));
  });

  it('POST chunked: 20 MiB generated on the fly arrive intact (length and hash)', async () => {
    const sent = createHash('sha256');
    let sentBytes = 0;
    async function* generate(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 320; i++) {
        const chunk = Buffer.alloc(65536, i & 0xff);
        sent.update(chunk);
        sentBytes += chunk.length;
        yield chunk;
      }
    }
    const reply = await send(nginx.port, 'POST', '/chunked/digest', generate);
    assert.equal(reply.status, 200);
    assert.equal(reply.body.toString(), `${sentBytes} ${sent.digest('hex')}`);
  });

  it('a large response streams out to the client (20 MiB)', async () => {
    const body = Buffer.alloc(20 * 1024 * 1024, 0x5a);
    const reply = await send(nginx.port, 'PUT', '/big', body);
    assert.equal(reply.body.length, body.length);
    assert.ok(reply.body.equals(body));
  });

  it('50 sequential requests reuse one kept-alive FastCGI connection', async () => {
    const before = server.acceptedConnections;
    for (let i = 0; i < 50; i++) {
      const reply = await send(
        nginx.port,
        i % 2 === 0 ? 'GET' : 'POST',
        `/r${i}`,
        i % 2 === 0 ? undefined : Buffer.from(`body ${i}`),
      );
      assert.equal(reply.body.toString(), i % 2 === 0 ? `GET /r${i}\n` : `body ${i}`);
    }
    assert.ok(
      server.acceptedConnections - before <= 1,
      `${server.acceptedConnections - before} new connections`,
    );
    assert.ok(server.acceptedConnections >= 1);
  });
});
