// A body that fails mid-way closes the connection WITHOUT END_REQUEST (handler.ts), so
// the web server sees a truncated response, never a complete one.
import assert from 'node:assert/strict';
import { FastCgiServer } from '../../../lib/bridge/fastcgi/server.js';
import { FastCgiTestClient, parseCgiResponse } from '../../support/fastcgi-client.js';

const SECRET = 'throws';

async function* failingBody(): AsyncGenerator<Uint8Array> {
  yield Buffer.from('first part');
  throw new Error('upstream reset');
}

describe('FastCGI responder: body that throws', () => {
  let server: FastCgiServer;
  let address: string;
  const logged: string[] = [];
  before(async () => {
    server = new FastCgiServer({
      secret: SECRET,
      log: (line) => logged.push(line),
      handler: async (request) => {
        if (request.params.get('REQUEST_METHOD') === 'REJECT') throw new Error('no response');
        return { status: 200, headers: [['Content-Length', '100']], body: failingBody() };
      },
    });
    address = await server.listen('tcp:127.0.0.1:0');
  });
  after(() => server.close(1000));

  it('sends what it had, then closes without END_REQUEST', async () => {
    const client = await FastCgiTestClient.connect(address);
    const response = await client.request({ params: { REQUEST_METHOD: 'GET' } }, SECRET);
    assert.equal(response.ended, false);
    assert.equal(parseCgiResponse(response.stdout).body.toString(), 'first part');
    assert.ok(logged.some((line) => line.includes('upstream reset')));
  });

  it('a handler that rejects before answering gets a 500 and END_REQUEST with appStatus 1', async () => {
    const client = await FastCgiTestClient.connect(address);
    const response = await client.request({ params: { REQUEST_METHOD: 'REJECT' } }, SECRET);
    assert.equal(response.ended, true);
    assert.equal(response.appStatus, 1);
    assert.equal(parseCgiResponse(response.stdout).status, 500);
    client.close();
  });
});
