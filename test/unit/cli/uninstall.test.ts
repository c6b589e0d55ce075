// The administrator's commands as a user runs them (off Windows they print instead of running):
// install's filtering and http.sys steps, uninstall with and without install's state, and
// trace --freb on|off; the site and virtual directory come from what install wrote.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { STATE_FILE } from '../../../lib/iis/install-state.js';
import { buildPe } from '../iis/build-pe.js';
import { runCli } from './run-cli.js';

describe('kallithea-isapi uninstall and trace --freb', function () {
  this.timeout(60_000);
  let dir: string;
  let dll: string;
  let myIni: string;
  let ini: string;

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'kisapi uninstall '));
    dll = buildPe(dir, 'x64-dll', 'kallithea_isapi.dll');
    myIni = path.join(dir, 'my.ini');
    writeFileSync(myIni, '[server:main]\nport = 5000\n[app:main]\nuse = egg:kallithea\n');
    ini = path.join(dir, 'kallithea-isapi.ini');
    writeFileSync(
      ini,
      '; IIS registration: virtualdir=/code; site=Intranet Site; pool=Kallithea; bitness=64\n[isapi]\nmode = spawn\n',
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('install --dry-run prints the filtering steps, and the http.sys raise with --raise-http-limits', async () => {
    const plain = await runCli(['install', '-c', myIni, '--dll', dll, '--keep-ini', '--dry-run']);
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stdout, /\/-fileExtensions\.\[fileExtension='\.cs'\]/);
    assert.match(plain.stdout, /\/-hiddenSegments\.\[segment='bin'\]/);
    assert.match(plain.stdout, /\/requestLimits\.maxUrl:16384 \/requestLimits\.maxQueryString:32768/);
    assert.doesNotMatch(plain.stdout, /^reg add/m);
    assert.match(plain.stdout, /install --raise-http-limits raises them/);
    const raised = await runCli([
      'install',
      '-c',
      myIni,
      '--dll',
      dll,
      '--keep-ini',
      '--dry-run',
      '--raise-http-limits',
    ]);
    assert.equal(raised.code, 0, raised.stderr);
    assert.match(
      raised.stdout,
      /^reg add HKLM\\SYSTEM\\CurrentControlSet\\Services\\HTTP\\Parameters \/v MaxFieldLength /m,
    );
    assert.match(raised.stdout, /net stop http \/y && net start w3svc/);
  });

  it('without install state it clears what install set and leaves pool and application', async () => {
    const result = await runCli(['uninstall', '--config', ini, '--dry-run']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      /set config "Intranet Site\/code" -section:system\.webServer\/handlers \/-\[name='KallitheaISAPI'\]/,
    );
    assert.match(
      result.stdout,
      /clear config "Intranet Site\/code" -section:system\.webServer\/security\/requestFiltering \/fileExtensions/,
    );
    assert.doesNotMatch(result.stdout, /appcmd\.exe delete/);
    assert.match(result.stdout, /No install state .*both are left/s);
    assert.match(result.stdout, /the DLL and its logs are files, not IIS configuration: they stay/);
  });

  it("with install's state it deletes what install created and puts back what it found", async () => {
    writeFileSync(
      path.join(dir, STATE_FILE),
      JSON.stringify({
        version: 1,
        site: 'Intranet Site',
        virtualDir: '/code',
        pool: 'Kallithea',
        dllPath: dll,
        created: { pool: true, app: true },
        previous: {
          'config|Intranet Site/code|system.webServer/security/authentication/windowsAuthentication|enabled':
            'true',
        },
      }),
    );
    try {
      const result = await runCli(['uninstall', '--config', ini, '--dry-run']);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /appcmd\.exe delete app "Intranet Site\/code"$/m);
      assert.match(result.stdout, /appcmd\.exe delete apppool Kallithea$/m);
      assert.match(result.stdout, /findstr \/x \/c:true >nul \|\| .* \/enabled:true \/commit:apphost$/m);
      assert.doesNotMatch(result.stdout, /No install state/);
    } finally {
      rmSync(path.join(dir, STATE_FILE));
    }
  });

  it('trace --freb on|off prints the rule for the recorded application and names the folder', async () => {
    const on = await runCli(['trace', '--config', ini, '--freb', 'on', '--slow', '120', '--dry-run']);
    assert.equal(on.code, 0, on.stderr);
    assert.match(on.stdout, /set site "Intranet Site" \/traceFailedRequestsLogging\.enabled:true/);
    assert.match(
      on.stdout,
      /"Intranet Site\/code" -section:system\.webServer\/tracing\/traceFailedRequests \/\+\[path='\*'\]/,
    );
    assert.match(on.stdout, /failureDefinitions\.timeTaken:00:02:00/);
    assert.match(on.stdout, /FailedReqLogFiles\\W3SVC<id of the site "Intranet Site">/);
    const off = await runCli(['trace', '--config', ini, '--freb', 'off', '--dry-run']);
    assert.equal(off.code, 0, off.stderr);
    assert.match(off.stdout, /\/-\[path='\*'\] \/commit:apphost >nul 2>&1/);
    assert.doesNotMatch(off.stdout, /traceAreas/);
    const wrong = await runCli(['trace', '--config', ini, '--freb', 'maybe']);
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /--freb maybe: give on or off/);
  });
});
