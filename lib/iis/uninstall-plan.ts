// `uninstall`: the reverse of the registration plan, built from the same tables, so it removes
// exactly what install added and nothing else: the handler entry and the ISAPI/CGI restriction
// entry by their keys, every attribute install set at the application's locations (cleared, and
// the earlier value written back where it had one of its own), the request-filtering entries
// install removed, the log folder's grant, the Failed Request Tracing rule of `trace --freb`,
// http.sys's limits when install raised them, and the application and the pool only when
// install's state says install created them. Without that state (the plan was pasted by hand)
// pool and application are left, and the attributes are only cleared.
import { frebRuleRemoval } from './freb-plan.js';
import { restoreHttpLimitSteps } from './http-sys-limits.js';
import type { InstallState } from './install-state.js';
import { locationSettings, restoreSettingSteps } from './location-settings.js';
import {
  appIdentifier,
  appPoolKey,
  configPath,
  handlerRemoval,
  logGrantee,
  type PlanStep,
  poolKey,
  poolSettings,
  type RegistrationOptions,
  restrictionRemoval,
} from './registration-plan.js';
import { requestFilteringListClears } from './request-filtering.js';

export type UninstallOptions = Pick<
  RegistrationOptions,
  'site' | 'virtualDir' | 'dllPath' | 'logFolder' | 'bitness' | 'pool' | 'handlerName'
>;

export function uninstallPlan(options: UninstallOptions, state: InstallState | undefined): PlanStep[] {
  const location = configPath(options);
  const app = appIdentifier(options);
  const previous = state?.previous;
  const steps: PlanStep[] = [
    handlerRemoval(options, `remove the handler entry ${options.handlerName}`),
    restrictionRemoval(options, 'remove the DLL from the ISAPI and CGI Restrictions list'),
    frebRuleRemoval(location),
    ...requestFilteringListClears(location),
    ...restoreSettingSteps(locationSettings(location), previous),
    {
      kind: 'remove-if-present',
      program: 'icacls',
      args: [options.logFolder, '/remove:g', logGrantee(options.pool)],
      purpose: `take back the pool identity's rights on ${options.logFolder}`,
    },
  ];

  if (options.virtualDir !== '/' && state?.created.app === true) {
    steps.push({
      kind: 'run',
      program: 'appcmd',
      args: ['delete', 'app', app],
      purpose: `delete the application ${app} (install created it)`,
    });
  } else {
    const before = previous?.[appPoolKey(app)];
    if (typeof before === 'string') {
      steps.push({
        kind: 'create',
        program: 'appcmd',
        args: ['set', 'app', app, `/applicationPool:${before}`],
        guard: ['list', 'app', app, '/text:applicationPool'],
        guardOutput: before,
        purpose: `run ${app} in "${before}" again, its pool before install (the application stays)`,
      });
    }
  }

  if (state?.created.pool === true) {
    steps.push({
      kind: 'run',
      program: 'appcmd',
      args: ['delete', 'apppool', options.pool],
      purpose: `delete the application pool "${options.pool}" (install created it)`,
    });
  } else if (previous !== undefined) {
    for (const [attribute] of poolSettings(options.bitness)) {
      const before = previous[poolKey(options.pool, attribute)];
      if (typeof before !== 'string') continue;
      steps.push({
        kind: 'create',
        program: 'appcmd',
        args: ['set', 'apppool', options.pool, `/${attribute}:${before}`],
        guard: ['list', 'apppool', options.pool, `/text:${attribute}`],
        guardOutput: before,
        purpose: `put ${attribute} of the pool "${options.pool}" back to "${before}" (the pool stays)`,
      });
    }
  }
  if (previous !== undefined) steps.push(...restoreHttpLimitSteps(previous));
  return steps;
}

/** What uninstall leaves, in words, for its report. */
export function uninstallLeaves(options: UninstallOptions, state: InstallState | undefined): string[] {
  const app = appIdentifier(options);
  if (state === undefined) {
    return [
      `No install state (kallithea-isapi.iis-state.json) was found: install did not run the plan itself, so it is not`,
      `known whether it created the pool "${options.pool}" or ${options.virtualDir === '/' ? 'changed' : 'created'} ${app};`,
      "both are left. Delete them with appcmd if they are Kallithea's only:",
      ...(options.virtualDir === '/' ? [] : [`  appcmd delete app "${app}"`]),
      `  appcmd delete apppool "${options.pool}"`,
    ];
  }
  const left: string[] = [];
  if (!state.created.pool) left.push(`the pool "${options.pool}" (it existed before install)`);
  if (options.virtualDir === '/' || !state.created.app)
    left.push(`the application ${app} (it existed before install)`);
  return left.length === 0 ? [] : [`Left in place: ${left.join(' and ')}.`];
}
