// Hop authentication: a connection whose request lacks the secret, or carries a wrong
// one, is closed without an answer and logged; the handler never sees the secret.
import assert from 'node:assert/strict';
import { FastCgiServer } from '../../../lib/bridge/fastcgi/server.js';
import { FastCgiTestClient, parseCgiResponse } from '../../support/fastcgi-client.js';
import { echoHandler } from '../../support/fastcgi-echo-handler.js';

const SECRET = 'the-right-secret';

describe('FastCGI responder: hop secret', () => {
  let server: FastCgiServer;
  let address: string;
  let logged: string[];
  beforeEach(async () => {
    logged = [];
    server = new FastCgiServer({ secret: SECRET, handler: echoHandler, log: (line) => logged.push(line) });
    address = await server.listen('tcp:127.0.0.1:0');
  });
  afterEach(() => server.close(1000));

  for (const [what, secret] of [
    ['without the secret', null],
    ['with a wrong secret', 'the-wrong-secret'],
    ['with a prefix of the secret', 'the-right'],
  ] as const) {
    it(`closes a connection whose first request comes ${what}, and logs it`, async () => {
      const client = await FastCgiTestClient.connect(address);
      const response = await client.request({ params: { REQUEST_METHOD: 'GET' } }, secret);
      assert.equal(response.ended, false);
      assert.equal(response.stdout.length, 0);
      assert.equal(logged.length, 1);
      assert.match(logged[0]!, /hop authentication/);
      assert.doesNotMatch(logged[0]!, new RegExp(SECRET));
    });
  }

  it('serves a request with the secret and hides the secret from the handler', async () => {
    const client = await FastCgiTestClient.connect(address);
    const response = await client.request({ params: { REQUEST_METHOD: 'GET' } }, SECRET);
    const cgi = parseCgiResponse(response.stdout);
    assert.equal(cgi.status, 200);
    assert.equal(cgi.headers.get('x-echo-has-secret'), 'false');
    client.close();
  });

  it('refuses a server without a secret', () => {
    assert.throws(() => new FastCgiServer({ secret: '', handler: echoHandler }));
  });
});
