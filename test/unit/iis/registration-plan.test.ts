// The appcmd plan for the site root and for /kallithea, for both bitnesses: table tests on the
// generated command lines.
import assert from 'node:assert/strict';
import { printedPlan } from '../../../lib/iis/printed-plan.js';
import {
  type RegistrationOptions,
  registrationOptionsProblems,
  registrationPlan,
} from '../../../lib/iis/registration-plan.js';
import { printedPrograms, stepCommandLine } from '../../../lib/iis/run-plan.js';
import { exampleOptions } from './example-options.js';

const base: RegistrationOptions = { ...exampleOptions, virtualDir: '/' };
const appcmd = '%windir%\\system32\\inetsrv\\appcmd.exe';

function lines(options: RegistrationOptions): string[] {
  return registrationPlan(options).map((step) => stepCommandLine(step, printedPrograms));
}

const cases = [
  { virtualDir: '/', bitness: 64 as const, location: '"Default Web Site"', app: '"Default Web Site/"' },
  { virtualDir: '/', bitness: 32 as const, location: '"Default Web Site"', app: '"Default Web Site/"' },
  {
    virtualDir: '/kallithea',
    bitness: 64 as const,
    location: '"Default Web Site/kallithea"',
    app: '"Default Web Site/kallithea"',
  },
  {
    virtualDir: '/kallithea',
    bitness: 32 as const,
    location: '"Default Web Site/kallithea"',
    app: '"Default Web Site/kallithea"',
  },
];

describe('IIS registration plan', () => {
  for (const c of cases) {
    describe(`virtual dir ${c.virtualDir}, ${c.bitness}-bit`, () => {
      const options = { ...base, virtualDir: c.virtualDir, bitness: c.bitness };
      const plan = lines(options);

      it('creates the pool with No Managed Code and the matching bitness', () => {
        assert.ok(plan.includes(`${appcmd} add apppool /name:Kallithea /managedPipelineMode:Integrated`));
        assert.ok(
          plan.includes(
            `${appcmd} set apppool Kallithea /managedRuntimeVersion:"" /enable32BitAppOnWin64:${c.bitness === 32}`,
          ),
        );
      });

      it('puts the application in the pool', () => {
        assert.ok(plan.includes(`${appcmd} set app ${c.app} /applicationPool:Kallithea`));
        const adds = plan.filter((l) => l.includes(' add app '));
        if (c.virtualDir === '/') assert.deepEqual(adds, []);
        else {
          assert.deepEqual(adds, [
            `${appcmd} add app "/site.name:Default Web Site" /path:/kallithea /physicalPath:C:\\kallithea /applicationPool:Kallithea`,
          ]);
        }
      });

      it('adds the wildcard handler first, in applicationHost.config, with the bitness precondition', () => {
        const entry =
          `/+[@start,name='KallitheaISAPI',path='*',verb='*',modules='IsapiModule',` +
          `scriptProcessor='C:\\kallithea\\kallithea_isapi.dll',resourceType='Unspecified',requireAccess='Script',` +
          `preCondition='bitness${c.bitness}',responseBufferLimit='0']`;
        const remove = `${appcmd} set config ${c.location} -section:system.webServer/handlers /-[name='KallitheaISAPI'] /commit:apphost`;
        const add = `${appcmd} set config ${c.location} -section:system.webServer/handlers ${entry} /commit:apphost`;
        assert.ok(plan.includes(remove));
        assert.ok(plan.includes(add));
        assert.ok(
          plan.indexOf(remove) < plan.indexOf(add),
          'the old entry is removed before the new one is added',
        );
        assert.ok(
          plan.includes(
            `${appcmd} set config ${c.location} -section:system.webServer/handlers "/accessPolicy:Read, Script" /commit:apphost`,
          ),
        );
      });

      it('allows the DLL in isapiCgiRestriction at server level', () => {
        assert.ok(
          plan.includes(
            `${appcmd} set config -section:system.webServer/security/isapiCgiRestriction ` +
              `"/+[path='C:\\kallithea\\kallithea_isapi.dll',allowed='True',groupId='Kallithea',description='Kallithea ISAPI']" /commit:apphost`,
          ),
        );
      });

      it('turns on Windows and anonymous authentication, and anonymous off for the login page', () => {
        const auth = 'system.webServer/security/authentication';
        assert.ok(
          plan.includes(
            `${appcmd} set config ${c.location} -section:${auth}/windowsAuthentication /enabled:true /commit:apphost`,
          ),
        );
        assert.ok(
          plan.includes(
            `${appcmd} set config ${c.location} -section:${auth}/anonymousAuthentication /enabled:true /commit:apphost`,
          ),
        );
        const login = `${c.location.slice(0, -1)}/_admin/login"`;
        assert.ok(
          plan.includes(
            `${appcmd} set config ${login} -section:${auth}/anonymousAuthentication /enabled:false /commit:apphost`,
          ),
        );
      });

      it('commits every config section to applicationHost.config (no 500.19 lock)', () => {
        for (const line of plan.filter((l) => l.includes(' set config ')))
          assert.match(line, /\/commit:apphost$/);
      });
    });
  }

  it('quotes paths with spaces', () => {
    const plan = lines({ ...base, dllPath: 'C:\\Program Files\\Kallithea ISAPI\\kallithea_isapi.dll' });
    assert.ok(
      plan.some(
        (l) =>
          l.includes(`"/+[@start,name='KallitheaISAPI'`) &&
          l.includes("scriptProcessor='C:\\Program Files\\Kallithea ISAPI\\kallithea_isapi.dll'"),
      ),
    );
  });

  it('prints guarded creation and tolerant removal as cmd.exe lines', () => {
    const script = printedPlan(registrationPlan({ ...base, virtualDir: '/kallithea' }), printedPrograms);
    assert.ok(
      script.includes(
        `${appcmd} list apppool Kallithea >nul 2>&1 || ${appcmd} add apppool /name:Kallithea /managedPipelineMode:Integrated`,
      ),
    );
    assert.ok(
      script.some((l) =>
        l.startsWith(`${appcmd} list app "Default Web Site/kallithea" >nul 2>&1 || ${appcmd} add app`),
      ),
    );
    assert.ok(script.some((l) => l.includes("/-[name='KallitheaISAPI']") && l.endsWith('>nul 2>&1')));
    // One rem per run of steps with the same purpose; the 'record' steps are not printed.
    const shown = registrationPlan({ ...base, virtualDir: '/kallithea' }).filter((s) => s.kind !== 'record');
    const purposes = shown.filter((s, i) => i === 0 || s.purpose !== shown[i - 1]!.purpose).length;
    assert.equal(script.filter((l) => l.startsWith('rem ')).length, purposes);
    assert.equal(script.filter((l) => !l.startsWith('rem ')).length, shown.length);
    assert.ok(!script.some((l) => / list config /.test(l)), 'no record query is printed');
  });

  it('rejects options that would break appcmd quoting', () => {
    assert.deepEqual(registrationOptionsProblems(base), []);
    assert.equal(registrationOptionsProblems({ ...base, virtualDir: 'kallithea' }).length, 1);
    assert.equal(registrationOptionsProblems({ ...base, virtualDir: "/it's" }).length, 1);
    assert.equal(registrationOptionsProblems({ ...base, pool: 'a/b' }).length, 1);
    assert.equal(registrationOptionsProblems({ ...base, dllPath: "C:\\o'neil\\k.dll" }).length, 1);
  });
});
