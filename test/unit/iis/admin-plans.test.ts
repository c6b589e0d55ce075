// Table tests on the printed command lines of the administrator's steps: request filtering
// and http.sys in install, the uninstall plan for each kind of install state, trace --freb on
// and off; and the http.sys findings check prints.
import assert from 'node:assert/strict';
import { httpLimitChecks, userHeaderCheck } from '../../../lib/iis/deployment-checks.js';
import { frebFolder, frebPlan, timeSpan } from '../../../lib/iis/freb-plan.js';
import { HTTP_PARAMETERS } from '../../../lib/iis/http-sys-limits.js';
import type { InstallState } from '../../../lib/iis/install-state.js';
import { printedPlan } from '../../../lib/iis/printed-plan.js';
import { type RegistrationOptions, registrationPlan } from '../../../lib/iis/registration-plan.js';
import { defaultDeniedExtensions, defaultHiddenSegments } from '../../../lib/iis/request-filtering.js';
import { printedPrograms } from '../../../lib/iis/run-plan.js';
import { uninstallPlan } from '../../../lib/iis/uninstall-plan.js';
import { exampleOptions } from './example-options.js';

const appcmd = '%windir%\\system32\\inetsrv\\appcmd.exe';
const filtering = '-section:system.webServer/security/requestFiltering';
const base: RegistrationOptions = exampleOptions;
const loc = '"Default Web Site/kallithea"';
const printed = (steps: Parameters<typeof printedPlan>[0]): string[] =>
  printedPlan(steps, printedPrograms).filter((l) => !l.startsWith('rem '));

describe('install: request filtering and http.sys steps', () => {
  const plan = printed(registrationPlan(base));

  it('sets the limits and allowUnlisted at the location only', () => {
    assert.ok(
      plan.includes(
        `${appcmd} set config ${loc} ${filtering} /requestLimits.maxAllowedContentLength:4294967295 ` +
          '/requestLimits.maxUrl:16384 /requestLimits.maxQueryString:32768 /allowDoubleEscaping:true ' +
          '/fileExtensions.allowUnlisted:true /commit:apphost',
      ),
    );
    assert.deepEqual(
      plan.filter((l) => l.includes('requestFiltering') && !l.includes(loc)),
      [],
      'nothing server-wide',
    );
  });

  it("removes each of IIS's default deny entries and hidden segments, tolerating absent ones", () => {
    for (const [entry, count] of [
      ["fileExtensions.[fileExtension='.cs']", 1],
      ["fileExtensions.[fileExtension='.config']", 1],
      ["hiddenSegments.[segment='bin']", 1],
      ["hiddenSegments.[segment='App_Data']", 1],
    ] as const) {
      const line = `${appcmd} set config ${loc} ${filtering} /-${entry} /commit:apphost >nul 2>&1`;
      assert.equal(plan.filter((l) => l === line).length, count, line);
    }
    assert.equal(plan.filter((l) => l.includes(' /-fileExtensions.')).length, defaultDeniedExtensions.length);
    assert.equal(plan.filter((l) => l.includes(' /-hiddenSegments.')).length, defaultHiddenSegments.length);
  });

  it('writes http.sys limits only with --raise-http-limits', () => {
    assert.deepEqual(
      plan.filter((l) => l.startsWith('reg ')),
      [],
    );
    const raised = printed(registrationPlan({ ...base, raiseHttpLimits: true })).filter((l) =>
      l.startsWith('reg '),
    );
    assert.deepEqual(raised, [
      `reg add ${HTTP_PARAMETERS} /v MaxFieldLength /t REG_DWORD /d 65534 /f`,
      `reg add ${HTTP_PARAMETERS} /v MaxRequestBytes /t REG_DWORD /d 262144 /f`,
    ]);
  });
});

describe('the uninstall plan', () => {
  const state = (overrides: Partial<InstallState>): InstallState => ({
    version: 1,
    site: base.site,
    virtualDir: base.virtualDir,
    pool: base.pool,
    dllPath: base.dllPath,
    created: { pool: true, app: true },
    previous: {},
    ...overrides,
  });

  it('removes the entries by key and clears what install set, in every case', () => {
    for (const s of [undefined, state({})]) {
      const plan = printed(uninstallPlan(base, s));
      for (const line of [
        `${appcmd} set config ${loc} -section:system.webServer/handlers /-[name='KallitheaISAPI'] /commit:apphost >nul 2>&1`,
        `${appcmd} set config -section:system.webServer/security/isapiCgiRestriction /-[path='C:\\kallithea\\kallithea_isapi.dll'] /commit:apphost >nul 2>&1`,
        `${appcmd} set config ${loc} -section:system.webServer/tracing/traceFailedRequests /-[path='*'] /commit:apphost >nul 2>&1`,
        `${appcmd} clear config ${loc} ${filtering} /fileExtensions /commit:apphost >nul 2>&1`,
        `${appcmd} clear config ${loc} ${filtering} /hiddenSegments /commit:apphost >nul 2>&1`,
        `${appcmd} clear config ${loc} ${filtering} /requestLimits.maxUrl /commit:apphost >nul 2>&1`,
        `${appcmd} clear config ${loc} -section:system.webServer/handlers /accessPolicy /commit:apphost >nul 2>&1`,
        `${appcmd} clear config "Default Web Site/kallithea/_admin/login" -section:system.webServer/security/authentication/anonymousAuthentication /enabled /commit:apphost >nul 2>&1`,
        'icacls C:\\kallithea\\logs /remove:g "IIS AppPool\\Kallithea" >nul 2>&1',
      ]) {
        assert.ok(plan.includes(line), `${s === undefined ? 'no state' : 'state'}: ${line}`);
      }
    }
  });

  it('deletes application and pool only when install created them', () => {
    const created = printed(uninstallPlan(base, state({})));
    assert.deepEqual(
      created.filter((l) => / delete /.test(l)),
      [`${appcmd} delete app ${loc}`, `${appcmd} delete apppool Kallithea`],
    );
    for (const s of [undefined, state({ created: { pool: false, app: false } })]) {
      assert.deepEqual(
        printed(uninstallPlan(base, s)).filter((l) => / delete /.test(l)),
        [],
      );
    }
  });

  it('writes recorded values back only where the value in effect differs', () => {
    const plan = printed(
      uninstallPlan(
        { ...base, virtualDir: '/' },
        state({
          virtualDir: '/',
          created: { pool: false, app: false },
          previous: {
            'app|Default Web Site/|applicationPool': 'DefaultAppPool',
            'apppool|Kallithea|managedRuntimeVersion': 'v4.0',
            'config|Default Web Site|system.webServer/handlers|accessPolicy': 'Read, Script',
          },
        }),
      ),
    );
    for (const line of [
      `${appcmd} list app "Default Web Site/" /text:applicationPool 2>nul | findstr /x /c:DefaultAppPool >nul || ` +
        `${appcmd} set app "Default Web Site/" /applicationPool:DefaultAppPool`,
      `${appcmd} list apppool Kallithea /text:managedRuntimeVersion 2>nul | findstr /x /c:v4.0 >nul || ` +
        `${appcmd} set apppool Kallithea /managedRuntimeVersion:v4.0`,
      `${appcmd} list config "Default Web Site" -section:system.webServer/handlers /text:accessPolicy 2>nul | ` +
        `findstr /x "/c:Read, Script" >nul || ${appcmd} set config "Default Web Site" ` +
        '-section:system.webServer/handlers "/accessPolicy:Read, Script" /commit:apphost',
    ]) {
      assert.ok(plan.includes(line), line);
    }
  });

  it('puts http.sys values back as install found them', () => {
    const plan = printed(
      uninstallPlan(
        base,
        state({
          previous: {
            [`reg|${HTTP_PARAMETERS}|MaxFieldLength`]: null,
            [`reg|${HTTP_PARAMETERS}|MaxRequestBytes`]: `\n${HTTP_PARAMETERS}\n    MaxRequestBytes    REG_DWORD    0x8000\n`,
          },
        }),
      ),
    ).filter((l) => l.startsWith('reg '));
    assert.deepEqual(plan, [
      `reg delete ${HTTP_PARAMETERS} /v MaxFieldLength /f >nul 2>&1`,
      `reg add ${HTTP_PARAMETERS} /v MaxRequestBytes /t REG_DWORD /d 32768 /f`,
    ]);
    assert.deepEqual(
      printed(uninstallPlan(base, state({}))).filter((l) => l.startsWith('reg ')),
      [],
      'untouched when install did not raise them',
    );
  });
});

describe('trace --freb', () => {
  const section = '-section:system.webServer/tracing/traceFailedRequests';
  const options = { site: 'Default Web Site', location: 'Default Web Site/kallithea', slowSeconds: 3725 };

  it('on: the site switch, the rule at the location, its areas, status codes and time', () => {
    assert.deepEqual(printed(frebPlan(options, true)), [
      `${appcmd} set site "Default Web Site" /traceFailedRequestsLogging.enabled:true`,
      `${appcmd} set config ${loc} ${section} /-[path='*'] /commit:apphost >nul 2>&1`,
      `${appcmd} set config ${loc} ${section} /+[path='*'] /commit:apphost`,
      `${appcmd} set config ${loc} ${section} "/+[path='*'].traceAreas.[provider='WWW Server',` +
        "areas='Authentication,Security,Filter,StaticFile,CGI,Compression,Cache,RequestNotifications,Module'," +
        `verbosity='Verbose']" /commit:apphost`,
      `${appcmd} set config ${loc} ${section} "/+[path='*'].traceAreas.[provider='ISAPI Extension',verbosity='Verbose']" /commit:apphost`,
      `${appcmd} set config ${loc} ${section} /[path='*'].failureDefinitions.statusCodes:500-599 ` +
        `/[path='*'].failureDefinitions.timeTaken:01:02:05 /commit:apphost`,
    ]);
  });

  it('off: only the rule goes', () => {
    assert.deepEqual(printed(frebPlan(options, false)), [
      `${appcmd} set config ${loc} ${section} /-[path='*'] /commit:apphost >nul 2>&1`,
    ]);
  });

  it('names the folder IIS writes to', () => {
    assert.equal(timeSpan(60), '00:01:00');
    assert.equal(
      frebFolder('%SystemDrive%\\inetpub\\logs\\FailedReqLogFiles', '3', { SystemDrive: 'D:' }),
      'D:\\inetpub\\logs\\FailedReqLogFiles\\W3SVC3',
    );
  });
});

describe('check: http.sys limits', () => {
  it('warns when a value is absent or below what hg needs, and is quiet once raised', () => {
    const query = (value: number): string =>
      `\n${HTTP_PARAMETERS}\n    X    REG_DWORD    0x${value.toString(16)}\n`;
    const low = httpLimitChecks({
      MaxFieldLength: null,
      MaxRequestBytes: query(32768).replace('X', 'MaxRequestBytes'),
    });
    assert.deepEqual(
      low.map((r) => [r.ok, r.warning, r.name]),
      [
        [true, true, 'http.sys MaxFieldLength'],
        [true, true, 'http.sys MaxRequestBytes'],
      ],
    );
    assert.match(
      low[0]!.detail,
      /is 16384 \(the default\).*X-Hg|400 Request Header Too Long.*--raise-http-limits/s,
    );
    assert.match(low[1]!.detail, /is 32768:/);
    const raised = httpLimitChecks({
      MaxFieldLength: query(65534).replace('X', 'MaxFieldLength'),
      MaxRequestBytes: query(1048576).replace('X', 'MaxRequestBytes'),
    });
    assert.deepEqual(
      raised.map((r) => [r.ok, r.warning]),
      [
        [true, undefined],
        [true, undefined],
      ],
    );
  });
});

describe('check: the user header', () => {
  it('warns about a well-known name in any case, and never prints a secret one', () => {
    for (const header of ['X-Forwarded-User', 'remote-user', 'X-REMOTE-USER']) {
      const result = userHeaderCheck(header);
      assert.deepEqual([result.ok, result.warning], [true, true], header);
      assert.match(result.detail, /configure-kallithea/);
    }
    const secret = 'X-Kallithea-User-0123456789abcdef0123456789abcdef';
    const result = userHeaderCheck(secret);
    assert.deepEqual([result.ok, result.warning], [true, undefined]);
    assert.doesNotMatch(result.detail, /0123456789abcdef/);
  });
});
