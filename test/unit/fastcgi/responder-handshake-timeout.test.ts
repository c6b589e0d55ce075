// The handshake timeout: a connection that sends nothing, or never completes its first
// request's head (BEGIN_REQUEST + PARAMS with the secret), is closed and logged, so a local
// process cannot hold the responder's sockets open. A connection that got going may then sit
// idle between requests (the DLL's kept-alive pool).
import assert from 'node:assert/strict';
import { FastCgiServer } from '../../../lib/bridge/fastcgi/server.js';
import { FastCgiTestClient, parseCgiResponse } from '../../support/fastcgi-client.js';
import { echoHandler } from '../../support/fastcgi-echo-handler.js';

const SECRET = 'handshake-secret';
const TIMEOUT_MS = 200;

describe('FastCGI responder: handshake timeout', () => {
  let server: FastCgiServer;
  let address: string;
  let logged: string[];
  beforeEach(async () => {
    logged = [];
    server = new FastCgiServer({
      secret: SECRET,
      handler: echoHandler,
      log: (line) => logged.push(line),
      handshakeTimeoutMs: TIMEOUT_MS,
    });
    address = await server.listen('tcp:127.0.0.1:0');
  });
  afterEach(() => server.close(1000));

  it('closes a connection that sends nothing, and logs it', async () => {
    const client = await FastCgiTestClient.connect(address);
    await client.closed;
    assert.equal(logged.length, 1);
    assert.match(logged[0]!, /127\.0\.0\.1:\d+ sent no whole request within 0\.2 s; closing/);
  });

  it('closes a connection whose first request stops halfway through PARAMS', async () => {
    const client = await FastCgiTestClient.connect(address);
    const whole = FastCgiTestClient.encodeRequest({ params: { REQUEST_METHOD: 'GET' } }, SECRET);
    client.send(whole.subarray(0, 8 + 8 + 12)); // BEGIN_REQUEST and part of PARAMS
    await client.closed;
    assert.match(logged.join('\n'), /sent no whole request/);
  });

  it('leaves a connection alone once its first request started, however long it then idles', async () => {
    const client = await FastCgiTestClient.connect(address);
    const first = await client.request({ params: { REQUEST_METHOD: 'GET' } }, SECRET);
    assert.equal(parseCgiResponse(first.stdout).status, 200);
    await new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS * 3));
    assert.equal(client.isClosed, false);
    const second = await client.request({ params: { REQUEST_METHOD: 'GET' } }, SECRET);
    assert.equal(parseCgiResponse(second.stdout).status, 200);
    assert.deepEqual(logged, []);
    client.close();
  });
});
