// FCGI_KEEP_CONN: 100 sequential requests on one connection; without it the responder
// closes the connection after END_REQUEST.
import assert from 'node:assert/strict';
import { FastCgiServer } from '../../../lib/bridge/fastcgi/server.js';
import { FastCgiTestClient, parseCgiResponse } from '../../support/fastcgi-client.js';
import { echoHandler } from '../../support/fastcgi-echo-handler.js';

const SECRET = 'keep-conn-secret';

describe('FastCGI responder: connection reuse', () => {
  let server: FastCgiServer;
  let address: string;
  beforeEach(async () => {
    server = new FastCgiServer({ secret: SECRET, handler: echoHandler, log: () => {} });
    address = await server.listen('tcp:127.0.0.1:0');
  });
  afterEach(() => server.close(1000));

  it('serves 100 requests, alternating ids and bodies, over one kept connection', async () => {
    const client = await FastCgiTestClient.connect(address);
    for (let i = 0; i < 100; i++) {
      const body = Buffer.alloc(i * 997, i);
      const id = 1 + (i % 3);
      const params = { REQUEST_METHOD: 'POST', PATH_INFO: i % 2 === 0 ? '/stream' : '/read-first' };
      const response = await client.request({ id, params, stdin: body }, SECRET);
      assert.equal(response.ended, true);
      assert.equal(response.appStatus, 0);
      const cgi = parseCgiResponse(response.stdout);
      assert.equal(cgi.status, 200);
      assert.deepEqual(cgi.body, body);
    }
    assert.equal(client.isClosed, false);
    assert.equal(server.acceptedConnections, 1);
    client.close();
  });

  it('closes after END_REQUEST when KEEP_CONN is not set', async () => {
    const client = await FastCgiTestClient.connect(address);
    const response = await client.request({ params: { REQUEST_METHOD: 'GET' }, keepConn: false }, SECRET);
    assert.equal(response.ended, true);
    await client.closed;
    assert.equal(await client.nextRecord(), null);
  });

  it('serves many connections at once', async () => {
    const clients = await Promise.all(Array.from({ length: 20 }, () => FastCgiTestClient.connect(address)));
    const responses = await Promise.all(
      clients.map((client, i) =>
        client.request({ params: { REQUEST_METHOD: 'POST' }, stdin: Buffer.from(`client ${i}`) }, SECRET),
      ),
    );
    responses.forEach((response, i) =>
      assert.equal(parseCgiResponse(response.stdout).body.toString(), `client ${i}`),
    );
    assert.equal(server.acceptedConnections, 20);
    for (const client of clients) client.close();
  });
});
