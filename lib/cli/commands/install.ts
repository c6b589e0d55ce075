// `kallithea-isapi install -c my.ini`: the replacement for Kallithea's
// `kallithea-cli iis-install` + `python3 dispatch.py install`. Writes kallithea-isapi.ini next
// to the DLL, registers the DLL with IIS 7+ through appcmd, and says what is left to do in
// Kallithea. On a machine that is not Windows, or with --dry-run, it prints the commands and
// the ini instead of running and writing them.
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readIsapiSection } from '../../config/isapi-section.js';
import { parseIni } from '../../config/ini-text.js';
import { type KallitheaIniFacts, readKallitheaIni } from '../../config/kallithea-ini.js';
import { findKallitheaPython, kallitheaPythonCandidates } from '../../config/kallithea-python.js';
import { problemText } from '../../config/problems.js';
import { isapiIniText } from '../../iis/isapi-ini-text.js';
import { kallitheaSteps } from '../../iis/kallithea-steps.js';
import { type Bitness, bitnessMismatch, inspectPeFile } from '../../iis/pe-machine.js';
import { httpLimitsReport } from '../../iis/http-sys-limits.js';
import { recordInstall } from '../../iis/install-state.js';
import { findPrebuiltDll } from '../../iis/prebuilt-dll.js';
import { printedPlan } from '../../iis/printed-plan.js';
import { registrationOptionsProblems, registrationPlan } from '../../iis/registration-plan.js';
import { printedPrograms, runPlan, windowsPrograms } from '../../iis/run-plan.js';
import { parseCommandArgs } from '../command-args.js';
import { configureAndReport } from './configure-kallithea.js';

export const summary = 'write kallithea-isapi.ini and register the ISAPI DLL with IIS (appcmd)';

const help = `usage: kallithea-isapi install -c my.ini [options]

Writes kallithea-isapi.ini next to the DLL and registers the DLL with IIS 7+ through appcmd
(run it from an elevated prompt). Replaces 'kallithea-cli iis-install' + 'dispatch.py install'.

  -c, --config FILE      Kallithea's my.ini (required)
  --virtualdir PATH      where Kallithea appears in the site: / (default) or /kallithea
  --site NAME            IIS site (default "Default Web Site")
  --dll PATH             kallithea_isapi.dll (default: the package's prebuilt DLL for --bitness,
                         prebuilds/win32-x64 or prebuilds/win32-ia32)
  --bitness 64|32        application pool bitness; must match the DLL (default 64)
  --pool NAME            application pool (default Kallithea)
  --physical-path DIR    folder of a new virtual directory application (default: the DLL's folder)
  --venv DIR             Kallithea's virtualenv, whose Python runs the workers
                         (default: venv beside my.ini, else the one of kallithea-cli in my.ini)
  --force                replace an existing kallithea-isapi.ini
  --keep-ini             keep an existing kallithea-isapi.ini as it is and only register with IIS
  --configure-kallithea  then apply Kallithea's settings for the bridge, as configure-kallithea does
                         (container plugin, secret user header, anonymous access off, prefix filter)
  --raise-http-limits    also raise http.sys's header limits in the registry (MaxFieldLength,
                         MaxRequestBytes) for hg's X-HgArg headers; HTTP must restart after it
  --dry-run              print the ini and the commands instead of writing and running them

Undo it with 'kallithea-isapi uninstall'.
`;

/** The package's root folder (where bin/ and prebuilds/ are). */
function packageRoot(): string {
  return fileURLToPath(new URL('../../../../', import.meta.url));
}

/** bin/kallithea-isapi.js of this package: what the DLL starts the bridge with. */
function bridgeScriptPath(): string {
  return fileURLToPath(new URL('../../../../bin/kallithea-isapi.js', import.meta.url));
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

export async function run(args: string[]): Promise<number> {
  const values = parseCommandArgs(
    'install',
    args,
    {
      config: { type: 'string', short: 'c' },
      virtualdir: { type: 'string', default: '/' },
      site: { type: 'string', default: 'Default Web Site' },
      dll: { type: 'string' },
      bitness: { type: 'string', default: '64' },
      pool: { type: 'string', default: 'Kallithea' },
      'physical-path': { type: 'string' },
      venv: { type: 'string' },
      force: { type: 'boolean', default: false },
      'keep-ini': { type: 'boolean', default: false },
      'configure-kallithea': { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      'raise-http-limits': { type: 'boolean', default: false },
    },
    help,
  );
  if (typeof values === 'number') return values;
  const fail = (message: string): number => {
    process.stderr.write(`kallithea-isapi install: ${message}\n`);
    return 1;
  };
  if (values.config === undefined)
    return fail('-c my.ini is required: the Kallithea configuration IIS serves');
  if (values.bitness !== '64' && values.bitness !== '32')
    return fail(`--bitness ${values.bitness}: give 64 or 32`);
  if (values.force && values['keep-ini'])
    return fail('--force and --keep-ini contradict each other: pick one');
  const bitness = Number(values.bitness) as Bitness;
  const virtualDir = values.virtualdir.length > 1 ? values.virtualdir.replace(/\/+$/, '') : values.virtualdir;
  const dryRun = values['dry-run'];
  const onWindows = process.platform === 'win32';

  const myIni = path.resolve(values.config);
  const kallithea = await readKallitheaIni(myIni, '-c');
  // Unreadable or not INI at all; a missing [server:main] is for check to report.
  const unusable = kallithea.problems.filter((p) => p.key === undefined);
  if (unusable.length > 0) return fail(unusable.map(problemText).join('\n'));
  const facts: KallitheaIniFacts = kallithea.facts;

  let dllPath: string;
  if (values.dll !== undefined) {
    dllPath = path.resolve(values.dll);
  } else {
    const prebuilt = await findPrebuiltDll(packageRoot(), bitness);
    if ('problem' in prebuilt) return fail(prebuilt.problem);
    dllPath = prebuilt.path;
  }
  const mismatch = bitnessMismatch(dllPath, await inspectPeFile(dllPath), bitness);
  if (mismatch !== undefined) return fail(mismatch);

  const dllDir = path.dirname(dllPath);
  const logFolder = path.join(dllDir, 'logs');
  const options = {
    site: values.site,
    virtualDir,
    dllPath,
    physicalPath: path.resolve(values['physical-path'] ?? dllDir),
    logFolder,
    bitness,
    pool: values.pool,
    handlerName: 'KallitheaISAPI',
    raiseHttpLimits: values['raise-http-limits'],
  };
  const problems = registrationOptionsProblems(options);
  if (problems.length > 0) return fail(problems.join('\n'));

  // kallithea-isapi.ini next to the DLL, where the DLL looks for it.
  const iniPath = path.join(dllDir, 'kallithea-isapi.ini');
  const cliPath = kallithea.sections['app:main']?.kallithea_cli_path;
  const python = findKallitheaPython(myIni, values.venv, typeof cliPath === 'string' ? cliPath : undefined);
  if (values.venv !== undefined && python === undefined) {
    return fail(
      `--venv ${values.venv}: no ${kallitheaPythonCandidates(myIni, values.venv).join('')}; give Kallithea's virtualenv`,
    );
  }
  const iniText = isapiIniText({
    node: process.execPath,
    bridgeScript: bridgeScriptPath(),
    kallitheaConfig: myIni,
    python,
    logFile: path.join('logs', 'kallithea_isapi.log'),
    writtenAt: new Date(),
    registration: { site: values.site, virtualDir, pool: values.pool, bitness },
  });
  const parsed = parseIni(iniText, iniPath, 'kallithea-isapi');
  const iniProblems = [
    ...parsed.problems,
    ...readIsapiSection(parsed.sections.isapi ?? {}, iniPath).problems,
  ].map(problemText);
  if (iniProblems.length > 0)
    return fail(`internal error, the ini to write is invalid:\n${iniProblems.join('\n')}`);

  const out: string[] = [];
  const iniExists = await exists(iniPath);
  if (iniExists && values['keep-ini']) {
    out.push(`Keeping ${iniPath} as it is (--keep-ini).`);
  } else if (iniExists && !values.force) {
    const current = await readFile(iniPath, 'utf8').catch(() => '');
    return fail(
      `${iniPath} exists and is left alone` +
        (current.includes(myIni) ? '' : ` (it does not name ${myIni})`) +
        ': pass --force to replace it, or --keep-ini to register with IIS using it as it is',
    );
  } else if (dryRun) {
    out.push(`Would write ${iniPath}${iniExists ? ' (replacing the existing file, --force)' : ''}:`, '');
    out.push(
      ...iniText
        .trimEnd()
        .split('\n')
        .map((line) => `  ${line}`),
      '',
    );
  } else {
    await writeFile(iniPath, iniText, { mode: 0o644 });
    await mkdir(logFolder, { recursive: true });
    out.push(`Wrote ${iniPath}${iniExists ? ' (replaced, --force)' : ''}; the DLL logs to ${logFolder}.`);
  }

  const steps = registrationPlan(options);
  let registered = true;
  if (dryRun || !onWindows) {
    out.push(
      '',
      dryRun
        ? 'Would run, from an elevated prompt (cmd.exe):'
        : 'Not on Windows: run these from an elevated prompt (cmd.exe) on the IIS server:',
      '',
    );
    out.push(...printedPlan(steps, printedPrograms));
  } else {
    process.stdout.write(`${out.join('\n')}\n\nRegistering with IIS:\n`);
    out.length = 0;
    const outcome = await runPlan(steps, windowsPrograms());
    // Also after a failure: uninstall then removes what this run made.
    await recordInstall(dllDir, options, outcome);
    out.push(...outcome.report);
    registered = outcome.ok;
  }
  out.push('', ...(await httpLimitsReport(options.raiseHttpLimits, onWindows && !dryRun)));
  let configured = true;
  if (!values['configure-kallithea']) {
    out.push('', ...kallitheaSteps(facts, virtualDir, myIni));
  } else if (python === undefined) {
    out.push(
      '',
      `--configure-kallithea: no Kallithea virtualenv found (${kallitheaPythonCandidates(myIni).join(', ')}): give --venv`,
    );
    configured = false;
  } else {
    const configure = await configureAndReport({
      myIni,
      // A dry run wrote no ini: configure reads what install would have written.
      isapiIni:
        dryRun && !(iniExists && values['keep-ini']) ? { file: iniPath, text: iniText } : { file: iniPath },
      virtualDir,
      python,
      rotateUserHeader: false,
      dryRun,
      pool: values.pool,
    });
    out.push('', ...configure.lines);
    configured = configure.code === 0;
  }
  out.push('', `Then check everything with: kallithea-isapi check --config ${iniPath}`);
  process.stdout.write(`${out.join('\n')}\n`);
  return registered && configured ? 0 : 1;
}
