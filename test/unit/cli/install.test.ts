// `kallithea-isapi install`: dry-run output, writing kallithea-isapi.ini next to the DLL,
// refusing to overwrite it, and refusing a DLL IIS could not load.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildPe } from '../iis/build-pe.js';
import { runCli } from './run-cli.js';

describe('kallithea-isapi install', function () {
  this.timeout(60_000);
  let dir: string;
  let dll64: string;
  let dll32: string;
  let myIni: string;
  let iniPath: string;

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'kisapi-install-'));
    dll64 = buildPe(dir, 'x64-dll', 'kallithea_isapi.dll');
    dll32 = buildPe(mkdtempSync(path.join(dir, 'x86-')), 'x86-dll', 'kallithea_isapi.dll');
    myIni = path.join(dir, 'my.ini');
    writeFileSync(myIni, '[server:main]\nhost = 127.0.0.1\nport = 5000\n\n[app:main]\nuse = egg:kallithea\n');
    iniPath = path.join(dir, 'kallithea-isapi.ini');
  });
  afterEach(() => rmSync(iniPath, { force: true }));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('--dry-run prints the ini and the appcmd commands and writes nothing', async () => {
    const result = await runCli([
      'install',
      '-c',
      myIni,
      '--dll',
      dll64,
      '--virtualdir',
      '/kallithea',
      '--dry-run',
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(existsSync(iniPath), false);
    assert.match(result.stdout, new RegExp(`Would write ${iniPath.replace(/[.\\]/g, '\\$&')}`));
    assert.match(result.stdout, /^ {2}mode = spawn$/m);
    assert.match(
      result.stdout,
      new RegExp(`^ {2}kallithea_config = ${myIni.replace(/[.\\]/g, '\\$&')}$`, 'm'),
    );
    assert.match(result.stdout, /appcmd\.exe add app "\/site\.name:Default Web Site" \/path:\/kallithea /);
    assert.match(result.stdout, /\/\+\[@start,name='KallitheaISAPI',path='\*'.*preCondition='bitness64'/);
    assert.match(result.stdout, /isapiCgiRestriction/);
    // Without --configure-kallithea: the command that applies Kallithea's settings, what it
    // does, and the missing prefix filter for /kallithea.
    assert.match(
      result.stdout,
      new RegExp(`kallithea-isapi configure-kallithea -c ${myIni.replace(/[.\\]/g, '\\$&')}`),
    );
    assert.match(result.stdout, /secret random\s+header name/);
    assert.match(result.stdout, /Clean username/);
    assert.match(result.stdout, /anonymous access off/);
    assert.match(result.stdout, /no prefix filter, but IIS serves Kallithea under \/kallithea/);
  });

  it('says the prefix filter is right when my.ini has it', async () => {
    const withPrefix = path.join(dir, 'my-prefix.ini');
    writeFileSync(
      withPrefix,
      '[server:main]\nport = 5000\n[app:main]\nuse = egg:kallithea\nfilter-with = proxy-prefix\n' +
        '[filter:proxy-prefix]\nuse = egg:PasteDeploy#prefix\nprefix = /kallithea\n',
    );
    const result = await runCli([
      'install',
      '-c',
      withPrefix,
      '--dll',
      dll64,
      '--virtualdir',
      '/kallithea',
      '--dry-run',
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /the prefix filter is set to \/kallithea/);
  });

  it('writes kallithea-isapi.ini next to the DLL (commands printed off Windows)', async () => {
    const result = await runCli(['install', '-c', myIni, '--dll', dll64]);
    assert.equal(result.code, 0, result.stderr);
    const text = readFileSync(iniPath, 'utf8');
    assert.match(text, /^mode = spawn$/m);
    assert.match(text, new RegExp(`^node = ${process.execPath.replace(/[.\\]/g, '\\$&')}$`, 'm'));
    assert.match(text, /^bridge_script = .*bin[\\/]kallithea-isapi\.js$/m);
    assert.match(text, /^\[bridge\]\nkallithea_config = /m);
    if (process.platform !== 'win32') assert.match(result.stdout, /Not on Windows: run these/);
  });

  it('refuses to overwrite an existing ini without --force, and replaces it with --force', async () => {
    writeFileSync(iniPath, '[isapi]\nmode = connect\n');
    const refused = await runCli(['install', '-c', myIni, '--dll', dll64]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /exists and is left alone.*--force/);
    assert.equal(readFileSync(iniPath, 'utf8'), '[isapi]\nmode = connect\n');

    const kept = await runCli(['install', '-c', myIni, '--dll', dll64, '--keep-ini', '--dry-run']);
    assert.equal(kept.code, 0, kept.stderr);
    assert.match(kept.stdout, /Keeping .* as it is/);
    assert.equal(readFileSync(iniPath, 'utf8'), '[isapi]\nmode = connect\n');

    const forced = await runCli(['install', '-c', myIni, '--dll', dll64, '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(readFileSync(iniPath, 'utf8'), /^mode = spawn$/m);
  });

  it("without --dll registers the package's prebuilt DLL for the pool's bitness", async () => {
    // prebuilds/ is made by scripts/build-windows.sh, which scripts/test.sh runs first.
    const root = path.resolve(import.meta.dirname, '../../../..');
    for (const [bitness, folder] of [
      ['64', 'win32-x64'],
      ['32', 'win32-ia32'],
    ] as const) {
      const result = await runCli(['install', '-c', myIni, '--bitness', bitness, '--dry-run']);
      assert.equal(result.code, 0, result.stderr);
      const dll = path.join(root, 'prebuilds', folder, 'kallithea_isapi.dll');
      assert.ok(result.stdout.includes(`path='${dll}'`), result.stdout);
      assert.match(result.stdout, new RegExp(`preCondition='bitness${bitness}'`));
    }
  });

  it('refuses a 32-bit DLL for a 64-bit pool, and takes it with --bitness 32', async () => {
    const refused = await runCli(['install', '-c', myIni, '--dll', dll32, '--dry-run']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /x86 \(32-bit\).*500\.21.*--bitness 32/s);
    const accepted = await runCli(['install', '-c', myIni, '--dll', dll32, '--bitness', '32', '--dry-run']);
    assert.equal(accepted.code, 0, accepted.stderr);
    assert.match(accepted.stdout, /\/enable32BitAppOnWin64:true/);
    assert.match(accepted.stdout, /preCondition='bitness32'/);
  });

  it('refuses a file that is not a Windows DLL', async () => {
    const notPe = path.join(dir, 'not-a-dll.dll');
    writeFileSync(notPe, 'just text\n'.repeat(20));
    const result = await runCli(['install', '-c', myIni, '--dll', notPe, '--dry-run']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /not a Windows PE file/);
  });

  it('--configure-kallithea without a Kallithea virtualenv says to give --venv and fails', async () => {
    const result = await runCli([
      'install',
      '-c',
      myIni,
      '--dll',
      dll64,
      '--configure-kallithea',
      '--dry-run',
    ]);
    assert.equal(result.code, 1);
    assert.match(result.stdout, /--configure-kallithea: no Kallithea virtualenv found .*: give --venv/);
  });

  it('refuses a missing my.ini', async () => {
    const result = await runCli(['install', '-c', path.join(dir, 'absent.ini'), '--dll', dll64, '--dry-run']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /cannot read Kallithea's configuration/);
  });
});
