// Issue 8: `check` and the bridge read listen addresses with one grammar
// (lib/config/listen-address.ts). Before, `check` refused unix:relative.sock and
// pipe:\\?\pipe\x that the bridge bound, and passed tcp:10.0.0.1:9000 that the bridge refused.
// Each bad address goes to the real commands: `kallithea-isapi bridge --listen` must refuse it
// with the same fix that `kallithea-isapi check` prints for [bridge] listen.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkBridgeSection } from '../../../lib/config/bridge-section.js';
import { readIsapiSection } from '../../../lib/config/isapi-section.js';
import { parseListenAddress } from '../../../lib/config/listen-address.js';
import { runCli } from './run-cli.js';

const BAD = [
  'unix:relative.sock',
  `unix:/tmp/${'x'.repeat(150)}.sock`,
  'tcp:10.0.0.1:9000',
  'tcp:127.0.0.1:99999',
  'pipe:\\\\?\\pipe\\x',
  `pipe:\\\\.\\pipe\\${'p'.repeat(257)}`,
  'http://127.0.0.1:9000',
];
const GOOD = ['unix:/run/k.sock', 'tcp:127.0.0.1:9000', 'tcp:[::1]:9000', 'pipe:\\\\.\\pipe\\k-1'];

function checkFix(address: string): string | undefined {
  return checkBridgeSection('k.ini', { listen: address }).problems[0]?.fix;
}

describe('listen addresses: one grammar for check and the bridge', function () {
  this.timeout(60_000);
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kisapi-listen-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const address of GOOD) {
    it(`accepts ${address} everywhere`, () => {
      assert.doesNotThrow(() => parseListenAddress(address));
      assert.equal(checkFix(address), undefined);
      assert.deepEqual(readIsapiSection({ mode: 'connect', bridge_address: address }, 'k.ini').problems, []);
    });
  }

  it('listens on tcp port 0 (any), but the DLL cannot connect to it', () => {
    assert.equal(checkFix('tcp:127.0.0.1:0'), undefined);
    const { problems } = readIsapiSection({ mode: 'connect', bridge_address: 'tcp:127.0.0.1:0' }, 'k.ini');
    assert.match(problems[0]?.fix ?? '', /port from 1 to 65535/);
  });

  it('listens on tcp:localhost, but the DLL resolves no names and cannot connect to it', () => {
    assert.equal(checkFix('tcp:localhost:9000'), undefined);
    const { problems } = readIsapiSection({ mode: 'connect', bridge_address: 'tcp:localhost:9000' }, 'k.ini');
    assert.match(problems[0]?.fix ?? '', /IP literal/);
  });

  for (const address of BAD) {
    it(`refuses ${JSON.stringify(address.slice(0, 40))} with the same fix in check and the bridge`, async () => {
      const fix = checkFix(address);
      assert.ok(fix !== undefined, 'check passed it');
      const bridge = await runCli(['bridge', '--listen', address], {
        ...process.env,
        KALLITHEA_ISAPI_SECRET: 'secret',
        KALLITHEA_ISAPI_INI: '',
      });
      assert.equal(bridge.code, 1, bridge.stderr);
      assert.ok(bridge.stderr.includes(fix), `the bridge said:\n${bridge.stderr}\ncheck says: ${fix}`);

      const ini = join(dir, 'k.ini');
      await writeFile(
        ini,
        `[isapi]\nmode = connect\nbridge_address = ${address}\n[bridge]\nlisten = ${address}\n`,
      );
      const check = await runCli(['check', '--config', ini]);
      assert.equal(check.code, 1);
      const lines = check.stdout.split('\n');
      assert.ok(
        lines.some((line) => line.includes('[bridge] listen') && line.includes(fix)),
        check.stdout,
      );
      // bridge_address: the same grammar, for connecting (port 0 is no address there).
      const connectFix = readIsapiSection({ bridge_address: address }, 'k.ini').problems[0]?.fix ?? '-';
      assert.ok(
        lines.some((line) => line.includes('[isapi] bridge_address') && line.includes(connectFix)),
        check.stdout,
      );
    });
  }
});
