// FCGI_ABORT_REQUEST and a vanished web server abort the request's signal; an aborted
// request ends with appStatus 1 and the kept connection serves the next one.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { FastCgiRequest } from '../../../lib/bridge/fastcgi/handler.js';
import { FastCgiServer } from '../../../lib/bridge/fastcgi/server.js';
import { encodeAbortRequest } from '../../../lib/bridge/fastcgi/records.js';
import { FastCgiTestClient, parseCgiResponse } from '../../support/fastcgi-client.js';
import { bodyOf } from '../../support/fastcgi-echo-handler.js';

const SECRET = 'abort-secret';

describe('FastCGI responder: abort', () => {
  let server: FastCgiServer;
  let address: string;
  let seen: FastCgiRequest[];
  let started: () => void;
  let startedPromise: Promise<void>;

  beforeEach(async () => {
    seen = [];
    startedPromise = new Promise((resolve) => (started = resolve));
    server = new FastCgiServer({
      secret: SECRET,
      log: () => {},
      handler: async (request) => {
        seen.push(request);
        if (request.params.get('REQUEST_METHOD') === 'WAIT') {
          started();
          // Like the forwarder: the upstream request fails when the signal aborts.
          await once(request.signal, 'abort');
          throw request.signal.reason;
        }
        return { status: 204, headers: [], body: bodyOf() };
      },
    });
    address = await server.listen('tcp:127.0.0.1:0');
  });
  afterEach(() => server.close(1000));

  it('FCGI_ABORT_REQUEST aborts the signal and ends the request with appStatus 1', async () => {
    const client = await FastCgiTestClient.connect(address);
    client.send(FastCgiTestClient.encodeRequest({ id: 5, params: { REQUEST_METHOD: 'WAIT' } }, SECRET));
    await startedPromise;
    client.send(encodeAbortRequest(5));
    const response = await client.readResponse(5);
    assert.equal(response.ended, true);
    assert.equal(response.appStatus, 1);
    assert.equal(seen[0]!.signal.aborted, true);
    assert.equal((seen[0]!.signal.reason as { code: string }).code, 'ERR_FASTCGI_REQUEST_ABORTED');

    const next = await client.request({ id: 6, params: { REQUEST_METHOD: 'GET' } }, SECRET);
    assert.equal(parseCgiResponse(next.stdout).status, 204);
    client.close();
  });

  it('a closed connection aborts the signal of its request', async () => {
    const client = await FastCgiTestClient.connect(address);
    client.send(FastCgiTestClient.encodeRequest({ params: { REQUEST_METHOD: 'WAIT' } }, SECRET));
    await startedPromise;
    client.close();
    await once(seen[0]!.signal, 'abort');
    assert.equal(seen[0]!.signal.aborted, true);
  });
});
