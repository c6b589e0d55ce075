// Percent-encoded and raw non-ASCII request targets reach the upstream byte for byte
// (curl --path-as-is sends them as given; nginx passes $request_uri as received).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { startBridgeProcess, type BridgeProcess } from '../support/bridge-process.js';
import { nginxFastCgiHttp, nginxFastCgiServer } from '../support/chain.js';
import { httpConf, startNginx, type RunningNginx } from '../support/nginx.js';
import { startRawTargetUpstream } from '../support/upstream.js';

/**
 * A GET whose target bytes are written as given (curl percent-encodes raw non-ASCII);
 * resolves with the response body.
 */
function rawGet(port: number, target: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(Buffer.from(`GET ${target} HTTP/1.1\r\nHost: raw\r\nConnection: close\r\n\r\n`, 'latin1'));
    });
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const response = Buffer.concat(chunks).toString('latin1');
      if (!response.startsWith('HTTP/1.1 200')) reject(new Error(response));
      resolve(response.slice(response.indexOf('\r\n\r\n') + 4));
    });
  });
}

describe('chain: raw request targets', function () {
  this.timeout(30_000);
  let dir: string;
  let upstream: Awaited<ReturnType<typeof startRawTargetUpstream>>;
  let bridge: BridgeProcess;
  let nginx: RunningNginx;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'chain-raw-'));
    upstream = await startRawTargetUpstream();
    bridge = await startBridgeProcess({ dir, bridge: { upstream: upstream.origin } });
    nginx = await startNginx({
      conf: ({ port, dir: nginxDir }) =>
        httpConf({
          port,
          dir: nginxDir,
          http: nginxFastCgiHttp(bridge.socket),
          server: nginxFastCgiServer(bridge.secret),
        }),
    });
  });
  after(async () => {
    await nginx?.stop();
    await bridge?.stop();
    await upstream?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const targets = [
    '/kallithea/group%2Frepo/files/tip/a%20b.txt?x=%2F&y=%3F',
    '/kallithea/r%C3%A9po/%E6%97%A5%E6%9C%AC',
    Buffer.from('/kallithea/répo/日本?q=ü', 'utf8').toString('latin1'),
    '/kallithea/%25%2e%2E/x',
  ];
  for (const target of targets) {
    it(`passes ${JSON.stringify(target)} unchanged`, async () => {
      const { target: seen } = JSON.parse(await rawGet(nginx.port, target)) as { target: string };
      assert.deepEqual(Buffer.from(seen, 'base64'), Buffer.from(target, 'latin1'));
    });
  }
});
