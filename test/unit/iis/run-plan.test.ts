// Running a plan: guarded creation is skipped when the object exists, removals of absent
// entries are fine, and the first real failure stops the run and is reported with the exact
// command line and everything appcmd printed.
import assert from 'node:assert/strict';
import { type RegistrationOptions, registrationPlan } from '../../../lib/iis/registration-plan.js';
import { type CommandResult, printedPrograms, runPlan } from '../../../lib/iis/run-plan.js';
import { exampleOptions } from './example-options.js';

const options: RegistrationOptions = exampleOptions;

describe('running the registration plan', () => {
  it('skips existing objects, tolerates absent removals, and stops at the first failure with command and output', async () => {
    const ran: string[] = [];
    const runner = async (_program: string, args: readonly string[]): Promise<CommandResult> => {
      const line = args.join(' ');
      ran.push(line);
      if (line === 'list apppool Kallithea') return { code: 0, output: 'APPPOOL "Kallithea"' };
      if (line.startsWith('list app '))
        return { code: 1, output: 'ERROR ( message:Cannot find APP object. )' };
      if (line.includes('/-['))
        return { code: 1, output: 'ERROR ( message:Cannot find requested collection element. )' };
      if (line.includes('windowsAuthentication')) {
        return {
          code: 13,
          output:
            'ERROR ( message:Unknown config section "system.webServer/security/authentication/windowsAuthentication". )',
        };
      }
      return { code: 0, output: 'CONFIG object changed' };
    };
    const outcome = await runPlan(registrationPlan(options), printedPrograms, runner);
    assert.equal(outcome.ok, false);
    assert.ok(!ran.some((l) => l.startsWith('add apppool')), 'the existing pool is not added again');
    assert.ok(
      ran.some((l) => l.startsWith('add app ')),
      'the missing app is added',
    );
    assert.ok(
      !ran.some((l) => l.startsWith('set config') && l.includes('anonymousAuthentication')),
      'nothing runs after the failure',
    );
    // What ran before the failure is reported for install's state: the values read first, and
    // the application it created (the pool was there).
    assert.deepEqual(outcome.created, ['app']);
    assert.equal(outcome.recorded['app|Default Web Site/kallithea|applicationPool'], null);
    assert.equal(typeof outcome.recorded['apppool|Kallithea|enable32BitAppOnWin64'], 'string');
    const report = outcome.report.join('\n');
    assert.match(report, /^skip {2}create the application pool "Kallithea".*already there$/m);
    assert.match(report, /^ok {4}remove a handler entry .*: none found$/m);
    assert.match(report, /^FAIL {2}Windows authentication on/m);
    assert.match(
      report,
      /command: %windir%\\system32\\inetsrv\\appcmd\.exe set config "Default Web Site\/kallithea" -section:system\.webServer\/security\/authentication\/windowsAuthentication \/enabled:true \/commit:apphost/,
    );
    assert.match(report, /exit code: 13/);
    assert.match(report, /\| ERROR \( message:Unknown config section/);
    assert.match(report, /hint: is the IIS feature "Windows Authentication" installed\?/);
  });
});
