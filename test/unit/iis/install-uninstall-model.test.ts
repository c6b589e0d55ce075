// Install, then uninstall, run against the model of applicationHost.config (apphost-model.ts)
// through the real runPlan: the configuration ends as it started, on a fresh server and on one
// that already had the pool, the application and settings of its own at the same location;
// a second install changes nothing; `trace --freb` rules go with uninstall too.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { frebPlan } from '../../../lib/iis/freb-plan.js';
import { HTTP_PARAMETERS } from '../../../lib/iis/http-sys-limits.js';
import {
  type InstallState,
  mergeInstallState,
  readInstallState,
  recordInstall,
  removeInstallState,
} from '../../../lib/iis/install-state.js';
import {
  configPath,
  type RegistrationOptions,
  registrationPlan,
} from '../../../lib/iis/registration-plan.js';
import { defaultDeniedExtensions, defaultHiddenSegments } from '../../../lib/iis/request-filtering.js';
import { type PlanOutcome, printedPrograms, runPlan } from '../../../lib/iis/run-plan.js';
import { uninstallPlan } from '../../../lib/iis/uninstall-plan.js';
import { type AppHostModel, freshServer } from './apphost-model.js';

const programs = { ...printedPrograms, appcmd: 'C:\\Windows\\system32\\inetsrv\\appcmd.exe' };

function options(overrides: Partial<RegistrationOptions> = {}): RegistrationOptions {
  return {
    site: 'Default Web Site',
    virtualDir: '/kallithea',
    dllPath: 'C:\\Program Files\\Kallithea ISAPI\\kallithea_isapi.dll',
    physicalPath: 'C:\\Program Files\\Kallithea ISAPI',
    logFolder: 'C:\\Program Files\\Kallithea ISAPI\\logs',
    bitness: 64,
    pool: 'Kallithea',
    handlerName: 'KallitheaISAPI',
    ...overrides,
  };
}

async function install(
  model: AppHostModel,
  o: RegistrationOptions,
  earlier?: InstallState,
): Promise<InstallState> {
  const outcome: PlanOutcome = await runPlan(registrationPlan(o), programs, model.run);
  assert.equal(outcome.ok, true, outcome.report.join('\n'));
  return mergeInstallState(earlier, o, outcome);
}

async function uninstall(
  model: AppHostModel,
  o: RegistrationOptions,
  state: InstallState | undefined,
): Promise<void> {
  const outcome = await runPlan(uninstallPlan(o, state), programs, model.run);
  assert.equal(outcome.ok, true, outcome.report.join('\n'));
}

const server = (site?: string): AppHostModel =>
  freshServer(defaultDeniedExtensions, defaultHiddenSegments, site);

describe('install then uninstall, on a model of applicationHost.config', () => {
  it('a fresh server with a new /kallithea application ends as it started', async () => {
    const model = server();
    const before = model.snapshot();
    const o = options();
    const state = await install(model, o);
    assert.deepEqual(state.created, { pool: true, app: true });

    const installed = model.snapshot();
    assert.notEqual(installed, before);
    assert.ok(model.pools.has('Kallithea'));
    assert.ok(model.sites.get('Default Web Site')!.apps.has('/kallithea'));
    // The handler comes first at the location; filtering removals and limits are there too.
    const location = configPath(o);
    const handlers = model.locations.get(location)!.get('system.webServer/handlers')!;
    assert.equal(handlers.entries[0]!.node.attributes.get('name'), 'KallitheaISAPI');
    const filtering = model.locations.get(location)!.get('system.webServer/security/requestFiltering')!;
    const removedExtensions = filtering.children
      .get('fileExtensions')!
      .entries.filter((e) => e.op === 'remove');
    assert.equal(removedExtensions.length, defaultDeniedExtensions.length);
    assert.equal(filtering.children.get('hiddenSegments')!.entries.length, defaultHiddenSegments.length);
    assert.equal(filtering.children.get('requestLimits')!.attributes.get('maxUrl'), '16384');
    // Other applications of the site still have IIS's filtering: nothing was changed above the location.
    assert.equal(
      model.locations.get('Default Web Site')?.get('system.webServer/security/requestFiltering'),
      undefined,
    );

    await uninstall(model, o, state);
    assert.equal(model.snapshot(), before);
  });

  it('a second install changes nothing, keeps the first records, and one uninstall undoes both', async () => {
    const model = server();
    const before = model.snapshot();
    const o = options();
    const first = await install(model, o);
    const once = model.snapshot();
    const second = await install(model, o, first);
    assert.equal(model.snapshot(), once, 'the second install is idempotent');
    assert.deepEqual(second.created, { pool: true, app: true });
    assert.deepEqual(second.previous, first.previous, 'records of the first install win');
    await uninstall(model, o, second);
    assert.equal(model.snapshot(), before);
  });

  it("leaves a pool and an application that existed, and the site root's own settings, as they were", async () => {
    const site = 'Intranet Code (Kallithea)';
    const model = server(site);
    // The pool exists with a managed runtime; IIS Manager had set Windows authentication and a
    // request-filtering limit for the site at its location; a handler of the administrator's.
    model.pools.set('Kallithea', new Map([['managedRuntimeVersion', 'v4.0']]));
    model.preset(site, 'system.webServer/security/authentication/windowsAuthentication', 'enabled', 'true');
    model.preset(
      site,
      'system.webServer/security/authentication/anonymousAuthentication',
      'enabled',
      'false',
    );
    model.preset(site, 'system.webServer/security/requestFiltering', 'requestLimits.maxUrl', '8192');
    model.presetEntry(site, 'system.webServer/handlers', '', { name: 'Admin', path: '*.admin', verb: 'GET' });
    const before = model.snapshot();

    const o = options({ site, virtualDir: '/', bitness: 32 });
    const state = await install(model, o);
    assert.deepEqual(state.created, { pool: false, app: false });
    assert.equal(model.pools.get('Kallithea')!.get('enable32BitAppOnWin64'), 'true');
    assert.equal(model.sites.get(site)!.apps.get('/')!.get('applicationPool'), 'Kallithea');

    await uninstall(model, o, state);
    assert.equal(model.snapshot(), before);
    assert.ok(model.pools.has('Kallithea'), 'the pool that was there stays');
  });

  it('an existing nested application in another pool keeps its pool; the pool install made goes', async () => {
    const model = server();
    model.pools.set('Shared', new Map());
    model.sites.get('Default Web Site')!.apps.set('/scm/kallithea', new Map([['applicationPool', 'Shared']]));
    const before = model.snapshot();
    const o = options({ virtualDir: '/scm/kallithea' });
    const state = await install(model, o);
    assert.deepEqual(state.created, { pool: true, app: false });
    await uninstall(model, o, state);
    assert.equal(model.snapshot(), before);
    assert.ok(model.sites.get('Default Web Site')!.apps.has('/scm/kallithea'));
  });

  it('--raise-http-limits: http.sys values are put back (one deleted, one restored)', async () => {
    const model = server();
    model.registry.set(`${HTTP_PARAMETERS}\\MaxRequestBytes`, 32768);
    const before = model.snapshot();
    const o = options({ raiseHttpLimits: true });
    const state = await install(model, o);
    assert.equal(model.registry.get(`${HTTP_PARAMETERS}\\MaxFieldLength`), 65534);
    assert.equal(model.registry.get(`${HTTP_PARAMETERS}\\MaxRequestBytes`), 262144);
    await uninstall(model, o, state);
    assert.equal(model.snapshot(), before);
  });

  it('trace --freb on adds its rule and off removes it; uninstall removes a rule left on', async () => {
    const model = server();
    const before = model.snapshot();
    const o = options();
    const state = await install(model, o);
    const installed = model.snapshot();
    const freb = { site: o.site, location: configPath(o), slowSeconds: 90 };
    for (let round = 0; round < 2; round++) {
      const on = await runPlan(frebPlan(freb, true), programs, model.run);
      assert.equal(on.ok, true, on.report.join('\n'));
    }
    assert.match(model.snapshot(), /@timeTaken="00:01:30"/);
    assert.equal(model.sites.get(o.site)!.attributes.get('traceFailedRequestsLogging.enabled'), 'true');
    const off = await runPlan(frebPlan(freb, false), programs, model.run);
    assert.equal(off.ok, true);
    model.sites.get(o.site)!.attributes.delete('traceFailedRequestsLogging.enabled');
    assert.equal(
      model.snapshot(),
      installed,
      'off removes exactly the rule (the site switch is checked above)',
    );

    await runPlan(frebPlan(freb, true), programs, model.run);
    model.sites.get(o.site)!.attributes.delete('traceFailedRequestsLogging.enabled');
    await uninstall(model, o, state);
    assert.equal(model.snapshot(), before);
  });

  it('without install state uninstall clears what install set but leaves pool and application', async () => {
    const model = server();
    const o = options();
    await install(model, o);
    await uninstall(model, o, undefined);
    assert.ok(model.pools.has('Kallithea'));
    assert.ok(model.sites.get('Default Web Site')!.apps.has('/kallithea'));
    assert.doesNotMatch(model.snapshot(), /KallitheaISAPI|maxUrl|kallithea_isapi\.dll/);
  });
});

describe('install state beside the ini', () => {
  it('is written after a run, merged by the next one (earlier records win), and removed by uninstall', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kisapi-state-'));
    try {
      const o = options();
      await recordInstall(dir, o, { created: ['pool'], recorded: { a: 'first', b: null } });
      await recordInstall(dir, o, { created: ['app'], recorded: { a: 'second', c: 'x' } });
      const state = await readInstallState(dir);
      assert.deepEqual(state?.created, { pool: true, app: true });
      assert.deepEqual(state?.previous, { a: 'first', b: null, c: 'x' });
      // Another registration starts afresh: the records of the old one do not apply to it.
      await recordInstall(dir, { ...o, virtualDir: '/other' }, { created: [], recorded: { a: 'third' } });
      assert.deepEqual((await readInstallState(dir))?.previous, { a: 'third' });
      await removeInstallState(dir);
      assert.equal(await readInstallState(dir), undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
