// Issue 8: requests the bridge must not forward are refused with 400 and logged once with
// their real cause (ERR_INVALID_REQUEST), instead of "Kallithea unreachable" (502/503).
// Through the real `kallithea-isapi bridge` child; the upstream must see none of them.
import assert from 'node:assert/strict';
import { bridgePerSuite, type BridgeProcess } from '../../support/bridge-process.js';
import type { Upstream } from '../../support/upstream.js';
import { FastCgiTestClient, parseCgiResponse } from '../../support/fastcgi-client.js';
import { waitFor } from '../cli/run-cli.js';

const IIS = { APPL_MD_PATH: '/LM/W3SVC/1/ROOT', APPL_PHYSICAL_PATH: 'C:\\inetpub\\wwwroot\\' };

const CASES: Array<{ what: string; params: Record<string, string>; cause: RegExp }> = [
  { what: 'a header value with CR', params: { HTTP_X_NOTE: 'a\rb' }, cause: /invalid x-note header/i },
  { what: 'a header value with NUL', params: { HTTP_X_NOTE: 'a\0b' }, cause: /invalid x-note header/i },
  { what: 'CONNECT', params: { REQUEST_METHOD: 'CONNECT' }, cause: /method "CONNECT" is not forwarded/ },
  { what: 'a method that is not a token', params: { REQUEST_METHOD: 'GE T' }, cause: /method "GE T"/ },
  {
    what: 'a CONTENT_LENGTH of 401 digits',
    params: { REQUEST_METHOD: 'POST', CONTENT_LENGTH: '9'.repeat(401) },
    cause: /CONTENT_LENGTH of 401 digits/,
  },
  {
    what: 'a repeated Host (ALL_RAW)',
    params: { ...IIS, ALL_RAW: 'Host: a.example\r\nHost: b.example\r\n' },
    cause: /repeated Host header/,
  },
  {
    what: 'a repeated Content-Length (ALL_RAW)',
    params: { ...IIS, ALL_RAW: 'Host: a\r\nContent-Length: 0\r\ncontent-length: 0\r\n' },
    cause: /repeated content-length header/,
  },
  {
    what: 'a repeated Authorization (ALL_RAW)',
    params: { ...IIS, ALL_RAW: 'Authorization: Basic a\r\nAuthorization: Basic b\r\n' },
    cause: /repeated Authorization header/,
  },
];

describe('bridge: requests refused with 400', function () {
  this.timeout(30_000);
  const suite = bridgePerSuite('kisapi-invalid-');
  let client: FastCgiTestClient;
  let bridge: BridgeProcess;
  let upstream: Upstream;

  before(async () => {
    ({ bridge, upstream } = suite);
    client = await FastCgiTestClient.connect(`unix:${bridge.socket}`);
  });
  after(() => client.close());

  let id = 0;
  for (const { what, params, cause } of CASES) {
    it(`${what}: 400, logged once with its cause, never forwarded`, async () => {
      id += 1;
      const target = `/case-${id}`;
      const response = await client.request(
        {
          id,
          params: {
            REQUEST_METHOD: 'GET',
            REQUEST_URI: target,
            SERVER_PROTOCOL: 'HTTP/1.1',
            ...params,
            ...('APPL_MD_PATH' in params ? { UNENCODED_URL: target } : {}),
          },
        },
        bridge.secret,
      );
      assert.ok(response.ended, bridge.output());
      assert.equal(parseCgiResponse(response.stdout).status, 400, bridge.output());
      await waitFor(() => bridge.output().includes(`${target}" 400 `), 'the access log line');
      const logged = bridge
        .output()
        .split('\n')
        .filter((line) => line.includes(`${target}:`));
      assert.equal(logged.length, 1, `cause logged ${logged.length} times:\n${bridge.output()}`);
      assert.match(logged[0] as string, /ERR_INVALID_REQUEST/);
      assert.match(logged[0] as string, cause);
      assert.doesNotMatch(bridge.output(), /ERR_UPSTREAM_(UNREACHABLE|STARTING)/);
      assert.equal(upstream.requests.length, 0, 'the upstream was asked');
    });
  }

  it('a good request still goes through afterwards', async () => {
    id += 1;
    const response = await client.request(
      { id, params: { REQUEST_METHOD: 'GET', REQUEST_URI: '/fine', SERVER_PROTOCOL: 'HTTP/1.1' } },
      bridge.secret,
    );
    assert.equal(parseCgiResponse(response.stdout).status, 200);
    assert.equal(upstream.requests.length, 1);
  });
});
