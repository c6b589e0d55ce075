// The IIS 7+ registration of kallithea_isapi.dll as a list of appcmd (and icacls) runs: a pure
// function of the install options, so the same list is printed by --dry-run, run by install,
// and checked by table tests. It replaces the old route's pywin32 ADSI installer, which needed
// the IIS 6 metabase compatibility layer (isapi.md section 10).
//
// Where configuration goes: the handlers, authentication and isapiCgiRestriction sections are
// locked at server level (overrideModeDefault="Deny"), so writing them into the application's
// web.config fails every request with HTTP 500.19 / 0x80070021. Instead of unlocking a section
// for every site on the server, each setting is committed to applicationHost.config inside a
// <location path="Site/app"> element (/commit:apphost), which the lock does not apply to.
//
// The plan first reads ('record' steps) every value it is about to change, so that install can
// keep them for uninstall (install-state.ts, uninstall-plan.ts); the attributes set at the
// location come from one table (location-settings.ts) that uninstall reverses, and the request
// filtering a code host needs is request-filtering.ts.
import { raiseHttpLimitSteps } from './http-sys-limits.js';
import { setConfig } from './command-line.js';
import { applySettingStep, locationSettings, recordSettingSteps } from './location-settings.js';
import type { Bitness } from './pe-machine.js';
import { requestFilteringListSteps } from './request-filtering.js';

export interface RegistrationOptions {
  /** IIS site name, e.g. "Default Web Site". */
  site: string;
  /** "/" for the site root, or "/kallithea" (no trailing slash). */
  virtualDir: string;
  /** Absolute Windows path of kallithea_isapi.dll. */
  dllPath: string;
  /** The application's physical folder (a new application only). */
  physicalPath: string;
  /** Folder the DLL writes its log into; the pool identity gets modify rights there. */
  logFolder: string;
  bitness: Bitness;
  /** Application pool name. */
  pool: string;
  /** The handler entry's name. */
  handlerName: string;
  /** Also raise http.sys's header limits in the registry (install --raise-http-limits). */
  raiseHttpLimits?: boolean;
}

/** How a step's failure is read. */
export type StepKind =
  /** Must succeed. */
  | 'run'
  /** Runs only when `guard` fails (the object it creates does not exist yet). */
  | 'create'
  /** Removes an entry before it is added again; failing means it was not there, which is fine. */
  | 'remove-if-present'
  /**
   * Reads a value before the plan changes it, kept under `records` in install's state so that
   * uninstall can put it back. Changes nothing; not printed (a pasted script keeps no state).
   */
  | 'record';

export interface PlanStep {
  kind: StepKind;
  program: 'appcmd' | 'icacls' | 'reg';
  args: string[];
  /** For 'create': an appcmd run that succeeds when the object already exists. */
  guard?: string[];
  /** For 'create': the guard passes only when it also prints exactly this (a value already in place). */
  guardOutput?: string;
  /** For 'create': what the step makes, recorded so that uninstall removes only what install made. */
  creates?: 'pool' | 'app';
  /** For 'record': the name the command's output is kept under. */
  records?: string;
  /** One sentence: what the step does and why. */
  purpose: string;
  /** What to check when it fails. */
  hint?: string;
}

const ISAPI_FEATURE_HINT =
  'is the IIS feature "ISAPI Extensions" installed? ' +
  '(dism /online /enable-feature /featurename:IIS-ISAPIExtensions, or Server Manager: Web-ISAPI-Ext)';

/** Checks the parts of the options that end up inside appcmd's quoted values. */
export function registrationOptionsProblems(options: RegistrationOptions): string[] {
  const problems: string[] = [];
  if (!/^\/([^/'"[\]\\]+(\/[^/'"[\]\\]+)*)?$/.test(options.virtualDir)) {
    problems.push(
      `--virtualdir ${JSON.stringify(options.virtualDir)}: give "/" or a path like "/kallithea" ` +
        '(leading slash, no trailing slash, no quotes, brackets or backslashes)',
    );
  }
  if (options.site === '' || /["'[\]/]/.test(options.site)) {
    problems.push(
      `--site ${JSON.stringify(options.site)}: give the IIS site's name, without quotes or slashes`,
    );
  }
  if (options.pool === '' || /["'[\]/\\]/.test(options.pool)) {
    problems.push(
      `--pool ${JSON.stringify(options.pool)}: give a pool name without quotes, slashes or brackets`,
    );
  }
  for (const [name, value] of [
    ['--dll', options.dllPath],
    ['physical path', options.physicalPath],
    ['log folder', options.logFolder],
  ] as const) {
    if (/["']/.test(value))
      problems.push(`${name} ${value}: a path with quotes cannot be registered with appcmd`);
  }
  return problems;
}

/** "Default Web Site" for the root, "Default Web Site/kallithea" for a virtual directory. */
export function configPath(options: Pick<RegistrationOptions, 'site' | 'virtualDir'>): string {
  return options.virtualDir === '/' ? options.site : `${options.site}${options.virtualDir}`;
}

/** appcmd's application identifier: "Default Web Site/" or "Default Web Site/kallithea". */
export function appIdentifier(options: Pick<RegistrationOptions, 'site' | 'virtualDir'>): string {
  return `${options.site}${options.virtualDir}`;
}

/** The handler entry, as appcmd's collection-element syntax. */
export function handlerEntry(options: RegistrationOptions): string {
  const attributes = [
    `name='${options.handlerName}'`,
    "path='*'",
    "verb='*'",
    "modules='IsapiModule'",
    `scriptProcessor='${options.dllPath}'`,
    "resourceType='Unspecified'",
    "requireAccess='Script'",
    `preCondition='bitness${options.bitness}'`,
    // IIS buffers an ISAPI response up to this many bytes before sending; 0 lets streamed
    // clone/pull output and progress reach the client as the DLL writes it.
    "responseBufferLimit='0'",
  ];
  return `[@start,${attributes.join(',')}]`;
}

/** The pool's attributes install sets, and the state keys their earlier values are kept under. */
export function poolSettings(bitness: Bitness): [string, string][] {
  return [
    ['managedRuntimeVersion', ''],
    ['enable32BitAppOnWin64', bitness === 32 ? 'true' : 'false'],
  ];
}
export const poolKey = (pool: string, attribute: string): string => `apppool|${pool}|${attribute}`;
export const appPoolKey = (app: string): string => `app|${app}|applicationPool`;

export function registrationPlan(options: RegistrationOptions): PlanStep[] {
  const location = configPath(options);
  const app = appIdentifier(options);
  const settings = locationSettings(location);
  const steps: PlanStep[] = [];

  // What the plan is about to change, read first, so that uninstall can put it back. A query
  // that fails (no such pool or application yet) records that the object did not exist.
  for (const [attribute] of poolSettings(options.bitness)) {
    steps.push({
      kind: 'record',
      program: 'appcmd',
      args: ['list', 'apppool', options.pool, `/text:${attribute}`],
      records: poolKey(options.pool, attribute),
      purpose: `record ${attribute} of the pool "${options.pool}"`,
    });
  }
  steps.push({
    kind: 'record',
    program: 'appcmd',
    args: ['list', 'app', app, '/text:applicationPool'],
    records: appPoolKey(app),
    purpose: `record the pool of ${app}`,
  });
  steps.push(...recordSettingSteps(settings));
  if (options.raiseHttpLimits === true)
    steps.push(...raiseHttpLimitSteps().filter((s) => s.kind === 'record'));

  steps.push({
    kind: 'create',
    program: 'appcmd',
    args: ['add', 'apppool', `/name:${options.pool}`, '/managedPipelineMode:Integrated'],
    guard: ['list', 'apppool', options.pool],
    creates: 'pool',
    purpose: `create the application pool "${options.pool}" (skipped when it exists)`,
  });
  steps.push({
    kind: 'run',
    program: 'appcmd',
    args: [
      'set',
      'apppool',
      options.pool,
      ...poolSettings(options.bitness).map(([attribute, value]) => `/${attribute}:${value}`),
    ],
    purpose:
      'No Managed Code (the DLL is native; no CLR is loaded) and a ' +
      `${options.bitness}-bit worker process to match the ${options.bitness}-bit DLL`,
  });

  if (options.virtualDir === '/') {
    steps.push({
      kind: 'run',
      program: 'appcmd',
      args: ['set', 'app', app, `/applicationPool:${options.pool}`],
      purpose: `run the site's root application in "${options.pool}"`,
    });
  } else {
    steps.push({
      kind: 'create',
      program: 'appcmd',
      args: [
        'add',
        'app',
        `/site.name:${options.site}`,
        `/path:${options.virtualDir}`,
        `/physicalPath:${options.physicalPath}`,
        `/applicationPool:${options.pool}`,
      ],
      guard: ['list', 'app', app],
      creates: 'app',
      purpose: `create the application ${options.virtualDir} (skipped when it exists)`,
    });
    steps.push({
      kind: 'run',
      program: 'appcmd',
      args: ['set', 'app', app, `/applicationPool:${options.pool}`],
      purpose: `run ${app} in "${options.pool}"`,
    });
  }

  steps.push(
    handlerRemoval(
      options,
      'remove a handler entry left by an earlier install, so the new one is added in first place',
    ),
  );
  steps.push({
    kind: 'run',
    program: 'appcmd',
    args: setConfig(location, 'system.webServer/handlers', `/+${handlerEntry(options)}`),
    purpose:
      'map every path and verb to the DLL, FIRST in the list: IIS uses the first handler that matches, ' +
      'and the inherited StaticFile handler (path "*") would otherwise answer every Kallithea URL with ' +
      '404 or serve files from the folder; kept in applicationHost.config, where the section lock ' +
      '(500.19) does not apply',
    hint: ISAPI_FEATURE_HINT,
  });

  steps.push(restrictionRemoval(options, 'remove an earlier ISAPI restriction entry for this DLL'));
  steps.push({
    kind: 'run',
    program: 'appcmd',
    args: setConfig(
      undefined,
      'system.webServer/security/isapiCgiRestriction',
      `/+${isapiRestrictionEntry(options)}`,
    ),
    purpose: 'allow the DLL in the server-wide ISAPI and CGI Restrictions list (an unlisted DLL gets 404.2)',
    hint: ISAPI_FEATURE_HINT,
  });

  steps.push(...settings.map(applySettingStep));
  steps.push(...requestFilteringListSteps(location));
  if (options.raiseHttpLimits === true)
    steps.push(...raiseHttpLimitSteps().filter((s) => s.kind !== 'record'));

  steps.push({
    kind: 'run',
    program: 'icacls',
    args: [options.logFolder, '/grant', logGrantee(options.pool) + ':(OI)(CI)M'],
    purpose: `let the pool's identity write the DLL's log in ${options.logFolder}`,
  });
  return steps;
}

/** The isapiCgiRestriction entry, as appcmd's collection-element syntax. */
export function isapiRestrictionEntry(options: Pick<RegistrationOptions, 'dllPath'>): string {
  return `[path='${options.dllPath}',allowed='True',groupId='Kallithea',description='Kallithea ISAPI']`;
}

/** The pool's identity, as icacls names it. */
export function logGrantee(pool: string): string {
  return `IIS AppPool\\${pool}`;
}

/** Removes the handler entry by its name (install, before adding it again; uninstall). */
export function handlerRemoval(
  options: Pick<RegistrationOptions, 'site' | 'virtualDir' | 'handlerName'>,
  purpose: string,
): PlanStep {
  return {
    kind: 'remove-if-present',
    program: 'appcmd',
    args: setConfig(configPath(options), 'system.webServer/handlers', `/-[name='${options.handlerName}']`),
    purpose,
  };
}

/** Removes the DLL's isapiCgiRestriction entry by its path (install, before adding it again; uninstall). */
export function restrictionRemoval(options: Pick<RegistrationOptions, 'dllPath'>, purpose: string): PlanStep {
  return {
    kind: 'remove-if-present',
    program: 'appcmd',
    args: setConfig(
      undefined,
      'system.webServer/security/isapiCgiRestriction',
      `/-[path='${options.dllPath}']`,
    ),
    purpose,
  };
}
