// Only the RESPONDER role is served: AUTHORIZER and FILTER get FCGI_UNKNOWN_ROLE, and a
// second request while one runs on the connection gets FCGI_CANT_MPX_CONN.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { FastCgiServer } from '../../../lib/bridge/fastcgi/server.js';
import { ProtocolStatus, Role } from '../../../lib/bridge/fastcgi/protocol.js';
import { encodeAbortRequest, encodeBeginRequest } from '../../../lib/bridge/fastcgi/records.js';
import { FastCgiTestClient } from '../../support/fastcgi-client.js';
import { bodyOf } from '../../support/fastcgi-echo-handler.js';

const SECRET = 'roles';

describe('FastCGI responder: roles and multiplexing', () => {
  let server: FastCgiServer;
  let address: string;
  before(async () => {
    server = new FastCgiServer({
      secret: SECRET,
      log: () => {},
      handler: async (request) => {
        if (request.params.get('REQUEST_METHOD') === 'WAIT') await once(request.signal, 'abort');
        return { status: 200, headers: [], body: bodyOf('x') };
      },
    });
    address = await server.listen('tcp:127.0.0.1:0');
  });
  after(() => server.close(1000));

  for (const [name, role] of [
    ['AUTHORIZER', Role.Authorizer],
    ['FILTER', Role.Filter],
  ] as const) {
    it(`refuses the ${name} role with FCGI_UNKNOWN_ROLE`, async () => {
      const client = await FastCgiTestClient.connect(address);
      const response = await client.request({ id: 3, role, params: {} }, SECRET);
      assert.equal(response.ended, true);
      assert.equal(response.protocolStatus, ProtocolStatus.UnknownRole);
      assert.equal(response.stdout.length, 0);
      // The PARAMS and STDIN of the refused request were ignored; the connection serves on.
      const next = await client.request({ id: 4, params: { REQUEST_METHOD: 'GET' } }, SECRET);
      assert.equal(next.protocolStatus, ProtocolStatus.RequestComplete);
      client.close();
    });
  }

  it('answers a second concurrent BEGIN_REQUEST with FCGI_CANT_MPX_CONN', async () => {
    const client = await FastCgiTestClient.connect(address);
    client.send(FastCgiTestClient.encodeRequest({ id: 1, params: { REQUEST_METHOD: 'WAIT' } }, SECRET));
    client.send(encodeBeginRequest(2, Role.Responder, 1));
    const refused = await client.readResponse(2);
    assert.equal(refused.protocolStatus, ProtocolStatus.CantMpxConn);
    client.send(encodeAbortRequest(1));
    const first = await client.readResponse(1);
    assert.equal(first.appStatus, 1);
    client.close();
  });
});
