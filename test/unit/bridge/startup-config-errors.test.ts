// A broken configuration stops `kallithea-isapi bridge` before it listens: exit status 1 and a
// line naming the file, the key and the fix.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../cli/run-cli.js';

describe('bridge: start-up with a broken configuration', function () {
  this.timeout(30_000);
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kisapi-badconfig-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function bridgeWith(ini: string): Promise<string> {
    const result = await runCli(['bridge', '--config', ini, '--listen', `unix:${join(dir, 'never.sock')}`], {
      ...process.env,
      KALLITHEA_ISAPI_SECRET: 'secret',
    });
    assert.equal(result.code, 1, result.stderr);
    return result.stderr;
  }

  async function iniWith(name: string, bridge: string): Promise<string> {
    const file = join(dir, name);
    await writeFile(file, `[bridge]\n${bridge}\n`);
    return file;
  }

  it('a missing file', async () => {
    const file = join(dir, 'absent.ini');
    assert.match(await bridgeWith(file), new RegExp(`${file}: cannot read .*ENOENT.*check that the path`));
  });

  it('an unknown key', async () => {
    const file = await iniWith('unknown.ini', 'header_timeout = 5');
    assert.match(
      await bridgeWith(file),
      new RegExp(
        `${file}: \\[bridge\\] header_timeout: unknown key; the \\[bridge\\] keys are .*headers_timeout`,
      ),
    );
  });

  it('a bad value', async () => {
    const file = await iniWith('bad.ini', 'shutdown_timeout = later');
    assert.match(
      await bridgeWith(file),
      new RegExp(`${file}: \\[bridge\\] shutdown_timeout: bad value "later"; give seconds as a number`),
    );
  });

  it('an unreadable my.ini, naming the key that points at it', async () => {
    const myIni = join(dir, 'my.ini');
    await mkdir(myIni); // a folder: unreadable as a file even for root
    const file = await iniWith('k.ini', `kallithea_config = ${myIni}`);
    assert.match(
      await bridgeWith(file),
      new RegExp(
        `${myIni}: cannot read Kallithea's configuration \\(EISDIR\\); check that the path is right ` +
          `and readable \\(\\[bridge\\] kallithea_config in ${file} names it\\)`,
      ),
    );
  });
});
