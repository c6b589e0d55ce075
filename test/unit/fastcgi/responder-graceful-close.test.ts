// Graceful close: idle connections end at once, a request in flight finishes (and its
// kept connection then ends), and past the deadline the rest is cut.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { FastCgiServer } from '../../../lib/bridge/fastcgi/server.js';
import { FastCgiTestClient, parseCgiResponse } from '../../support/fastcgi-client.js';
import { bodyOf } from '../../support/fastcgi-echo-handler.js';

const SECRET = 'graceful';

describe('FastCGI responder: graceful close', () => {
  it('lets the request in flight finish, ends idle connections, refuses new ones', async () => {
    let answer!: () => void;
    const answered = new Promise<void>((resolve) => (answer = resolve));
    let started!: () => void;
    const startedPromise = new Promise<void>((resolve) => (started = resolve));
    const server = new FastCgiServer({
      secret: SECRET,
      log: () => {},
      handler: async () => {
        started();
        await answered;
        return { status: 200, headers: [], body: bodyOf('finished') };
      },
    });
    const address = await server.listen('tcp:127.0.0.1:0');
    const idle = await FastCgiTestClient.connect(address);
    const busy = await FastCgiTestClient.connect(address);
    busy.send(FastCgiTestClient.encodeRequest({ params: { REQUEST_METHOD: 'GET' } }, SECRET));
    await startedPromise;

    const closing = server.close(10_000);
    await idle.closed;
    await assert.rejects(FastCgiTestClient.connect(address));
    answer();
    const response = await busy.readResponse(1);
    assert.equal(parseCgiResponse(response.stdout).body.toString(), 'finished');
    await busy.closed;
    await closing;
  });

  it('cuts a request that outlives the deadline', async () => {
    const logged: string[] = [];
    const server = new FastCgiServer({
      secret: SECRET,
      log: (line) => logged.push(line),
      handler: async (request) => {
        await once(request.signal, 'abort');
        return { status: 200, headers: [], body: null };
      },
    });
    const address = await server.listen('tcp:127.0.0.1:0');
    const client = await FastCgiTestClient.connect(address);
    client.send(FastCgiTestClient.encodeRequest({ params: { REQUEST_METHOD: 'GET' } }, SECRET));
    await client.getValues(['FCGI_MPXS_CONNS']); // the request has been read by now
    await server.close(50);
    const response = await client.readResponse(1);
    assert.equal(response.ended, false);
    assert.ok(logged.some((line) => line.includes('deadline')));
  });
});
