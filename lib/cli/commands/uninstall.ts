// `kallithea-isapi uninstall`: removes from IIS exactly what `install` added (lib/iis/
// uninstall-plan.ts says what and how), reading where it was registered from install's state
// beside kallithea-isapi.ini, else from the ini's registration note. kallithea-isapi.ini, the
// DLL and the logs stay: they are files of this package, not IIS configuration.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { readRegistrationNote } from '../../iis/isapi-ini-text.js';
import {
  type InstallState,
  readInstallState,
  removeInstallState,
  statePath,
} from '../../iis/install-state.js';
import { printedPlan } from '../../iis/printed-plan.js';
import { registrationOptionsProblems } from '../../iis/registration-plan.js';
import { printedPrograms, runPlan, windowsPrograms } from '../../iis/run-plan.js';
import { type UninstallOptions, uninstallLeaves, uninstallPlan } from '../../iis/uninstall-plan.js';
import { parseCommandArgs } from '../command-args.js';

export const summary =
  'remove from IIS what install added (handler, restriction, settings; pool/app if install made them)';

const help = `usage: kallithea-isapi uninstall [--config kallithea-isapi.ini] [options]

Removes from IIS what 'kallithea-isapi install' added: the handler entry, the ISAPI/CGI
restriction entry, the authentication and request-filtering settings at the application's
location (earlier values put back), the Failed Request Tracing rule, the log folder's grant,
http.sys's limits if install raised them, and the application and pool only if install created
them. Everything else in IIS is left as it is; kallithea-isapi.ini and the logs stay.

  --config FILE    the ini install wrote (default: $KALLITHEA_ISAPI_INI, else ./kallithea-isapi.ini)
  --dll PATH       the DLL that was registered (default: as install recorded, else beside the ini)
  --site NAME      --virtualdir PATH   --pool NAME
                   where it was registered (default: as install recorded them)
  --dry-run        print the commands instead of running them
`;

export async function run(args: string[]): Promise<number> {
  const values = parseCommandArgs(
    'uninstall',
    args,
    {
      config: { type: 'string', short: 'c' },
      dll: { type: 'string' },
      site: { type: 'string' },
      virtualdir: { type: 'string' },
      pool: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
    },
    help,
  );
  if (typeof values === 'number') return values;
  const fail = (message: string): number => {
    process.stderr.write(`kallithea-isapi uninstall: ${message}\n`);
    return 1;
  };
  const iniPath = path.resolve(values.config ?? process.env.KALLITHEA_ISAPI_INI ?? 'kallithea-isapi.ini');
  const iniDir = path.dirname(iniPath);
  let state: InstallState | undefined;
  try {
    state = await readInstallState(iniDir);
  } catch (error) {
    return fail(`${statePath(iniDir)}: ${(error as Error).message}`);
  }
  const note = readRegistrationNote(await readFile(iniPath, 'utf8').catch(() => ''));
  const site = values.site ?? state?.site ?? note?.site;
  const virtualDir = values.virtualdir ?? state?.virtualDir ?? note?.virtualDir;
  const pool = values.pool ?? state?.pool ?? note?.pool;
  if (site === undefined || virtualDir === undefined || pool === undefined || site === '' || pool === '') {
    return fail(
      `neither ${statePath(iniDir)} nor ${iniPath} says where Kallithea was registered: ` +
        'give --site, --virtualdir and --pool',
    );
  }
  const dllPath = path.resolve(values.dll ?? state?.dllPath ?? path.join(iniDir, 'kallithea_isapi.dll'));
  const options: UninstallOptions = {
    site,
    virtualDir,
    dllPath,
    logFolder: path.join(path.dirname(dllPath), 'logs'),
    bitness: note?.bitness === 32 ? 32 : 64,
    pool,
    handlerName: 'KallitheaISAPI',
  };
  const problems = registrationOptionsProblems({ ...options, physicalPath: path.dirname(dllPath) });
  if (problems.length > 0) return fail(problems.join('\n'));
  if (
    state !== undefined &&
    (state.site !== site || state.virtualDir !== virtualDir || state.pool !== pool)
  ) {
    // The state describes another registration: its records do not apply to this one.
    state = undefined;
  }

  const steps = uninstallPlan(options, state);
  const out: string[] = [];
  let ok = true;
  if (values['dry-run'] || process.platform !== 'win32') {
    out.push(
      values['dry-run']
        ? 'Would run, from an elevated prompt (cmd.exe):'
        : 'Not on Windows: run these from an elevated prompt (cmd.exe) on the IIS server:',
      '',
      ...printedPlan(steps, printedPrograms),
    );
  } else {
    const outcome = await runPlan(steps, windowsPrograms());
    out.push(...outcome.report);
    ok = outcome.ok;
    if (ok) await removeInstallState(iniDir);
  }
  const leaves = uninstallLeaves(options, state);
  if (leaves.length > 0) out.push('', ...leaves);
  out.push('', `${iniPath}, the DLL and its logs are files, not IIS configuration: they stay.`);
  process.stdout.write(`${out.join('\n')}\n`);
  return ok ? 0 : 1;
}
