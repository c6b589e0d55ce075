// Issue 8: a client that goes away while the bridge waits for the first chunk of a chunked
// body (no CONTENT_LENGTH) must not end the bridge process. The forwarder used to build the
// upstream exchange, and its `response` promise, before awaiting the body; the abort
// rejected that promise with nobody awaiting it and Node ended the process. Run against the
// real `kallithea-isapi bridge` child, both ways the web server can abort.
import assert from 'node:assert/strict';
import { encodeAbortRequest, encodeBeginRequest, encodeParams } from '../../../lib/bridge/fastcgi/records.js';
import { FCGI_KEEP_CONN, Role } from '../../../lib/bridge/fastcgi/protocol.js';
import { SECRET_PARAM } from '../../../lib/bridge/fastcgi/handler.js';
import { assertServes, bridgePerSuite, type BridgeProcess } from '../../support/bridge-process.js';
import { FastCgiTestClient } from '../../support/fastcgi-client.js';
import { waitFor } from '../cli/run-cli.js';

function logLines(bridge: BridgeProcess, text: string): number {
  return bridge
    .output()
    .split('\n')
    .filter((line) => line.includes(text)).length;
}

const CHUNKED_POST = {
  REQUEST_METHOD: 'POST',
  REQUEST_URI: '/upload',
  SERVER_PROTOCOL: 'HTTP/1.1',
  CONTENT_TYPE: 'application/octet-stream',
};

/** BEGIN_REQUEST and PARAMS of a chunked POST; no STDIN at all, so the body is awaited. */
function chunkedHead(id: number, secret: string): Buffer {
  return Buffer.concat([
    encodeBeginRequest(id, Role.Responder, FCGI_KEEP_CONN),
    encodeParams(id, Object.entries({ ...CHUNKED_POST, [SECRET_PARAM]: secret })),
  ]);
}

describe('bridge: a client abort before the first chunk of a chunked body', function () {
  this.timeout(30_000);
  const suite = bridgePerSuite('kisapi-abort-chunk-');
  let expectedLines = 1;

  for (const how of ['FCGI_ABORT_REQUEST', 'closing the connection'] as const) {
    it(`by ${how}: the bridge keeps running and serves the next request`, async () => {
      const { bridge } = suite;
      const client = await FastCgiTestClient.connect(`unix:${bridge.socket}`);
      client.send(chunkedHead(1, bridge.secret));
      // Records that arrive together are handled in one turn: the forwarder is waiting
      // for the body well before this. (A wait, not a time assertion.)
      await new Promise((resolve) => setTimeout(resolve, 200));
      if (how === 'FCGI_ABORT_REQUEST') {
        client.send(encodeAbortRequest(1));
        const answer = await client.readResponse(1);
        assert.ok(answer.ended, `the aborted request got no END_REQUEST:\n${bridge.output()}`);
      }
      client.close();
      // The forwarder sees the abort; an unobserved rejection would end the process now.
      await waitFor(() => logLines(bridge, '"POST /upload"') === expectedLines, 'the access log line');
      expectedLines += 1;
      // The access log says the client went away (499), not that the bridge failed (500).
      const line = bridge
        .output()
        .split('\n')
        .filter((text) => text.includes('"POST /upload"'))
        .at(-1);
      assert.match(line ?? '', /"POST \/upload" 499 0 \d+ms/);
      await assertServes(bridge);
      assert.doesNotMatch(bridge.output(), /unhandled|ERR_UNHANDLED_REJECTION/i);
    });
  }
});
