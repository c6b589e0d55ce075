// Many requests over one kept-alive FastCGI connection (nginx `keepalive` + fastcgi_keep_conn).
// The bridge runs in-process here so its accepted-connection count can be read.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bridgeDefaults } from '../../lib/config/bridge-section.js';
import { startBridge, type RunningBridge } from '../../lib/bridge/server.js';
import { curl, nginxFastCgiHttp, nginxFastCgiServer } from '../support/chain.js';
import { httpConf, startNginx, type RunningNginx } from '../support/nginx.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

describe('chain: kept-alive FastCGI connections', function () {
  this.timeout(30_000);
  let dir: string;
  let upstream: Upstream;
  let bridge: RunningBridge;
  let nginx: RunningNginx;
  const secret = 'keepalive-secret';
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'chain-keepalive-'));
    upstream = await startUpstream();
    const socket = join(dir, 'bridge.sock');
    bridge = await startBridge({
      settings: { ...bridgeDefaults, upstream: upstream.origin, accessLog: join(dir, 'access.log') },
      listen: `unix:${socket}`,
      secret,
      log: () => undefined,
    });
    nginx = await startNginx({
      conf: ({ port, dir: nginxDir }) =>
        httpConf({ port, dir: nginxDir, http: nginxFastCgiHttp(socket), server: nginxFastCgiServer(secret) }),
    });
  });
  after(async () => {
    await nginx?.stop();
    await bridge?.close();
    await upstream?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves 200 sequential requests over one FastCGI connection', async () => {
    const urls = Array.from({ length: 200 }, (_, i) => `http://127.0.0.1:${nginx.port}/r${i}`);
    const result = await curl(['-w', '%{http_code}\\n', ...urls.flatMap((url) => ['-o', '/dev/null', url])]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.stdout.toString().trim().split('\n'), Array(200).fill('200'));
    assert.equal(bridge.acceptedConnections(), 1);
    assert.equal(upstream.requests.length, 200);
  });
});
