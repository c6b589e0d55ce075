// `kallithea-isapi trace`: the live trace an administrator watches while reproducing a fault
// (the old isapi-wsgi route had one for uncaught exceptions). Follows the DLL's log_file and
// the bridge's access_log (paths from the ini) and prints new lines as they are written, until
// Ctrl+C. --errors keeps only error lines and their stack-trace continuation lines. --freb on|off
// sets up IIS's Failed Request Tracing for the application instead (lib/iis/freb-plan.ts).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { readKallitheaIsapiIni } from '../../config/kallithea-isapi-ini.js';
import { problemText } from '../../config/problems.js';
import { ErrorFilter, type FollowEvent, LogFollower, lastLines } from '../../iis/log-follower.js';
import { configPath } from '../../iis/registration-plan.js';
import { readRegistrationNote } from '../../iis/isapi-ini-text.js';
import { describeFrebFolder, frebPlan } from '../../iis/freb-plan.js';
import { printedPlan } from '../../iis/printed-plan.js';
import { printedPrograms, runCommand, runPlan, windowsPrograms } from '../../iis/run-plan.js';
import { parseCommandArgs } from '../command-args.js';

export const summary = "follow the DLL's and the bridge's logs live (--errors: errors with stack traces)";

const help = `usage: kallithea-isapi trace [--config kallithea-isapi.ini] [--errors] [--lines N] [--file PATH]...

Follows the DLL's log_file and the bridge's access_log (from the ini), printing lines as they
are written, across rotation and truncation, until Ctrl+C.
  --config FILE  the ini (default: $KALLITHEA_ISAPI_INI, else ./kallithea-isapi.ini)
  --dll PATH     the DLL, whose folder log_file is relative to (default: beside the ini)
  --errors       only error lines, with the stack-trace lines that follow them
  --lines N      first show the last N (matching) lines of each file (default 0)
  --file PATH    follow this file too (repeatable)

       kallithea-isapi trace --freb on|off [--slow SECONDS] [--config kallithea-isapi.ini] [--dry-run]

Sets up IIS Failed Request Tracing (FREB) for the application through appcmd: on traces every
request answered 500-599 or slower than --slow seconds (default 60); off removes the rule. Says
where IIS writes the traces. Site and virtual directory are the ones install recorded in the ini
(or --site, --virtualdir).
`;

async function configureFreb(
  iniPath: string,
  values: { freb: string; slow: string; site?: string; virtualdir?: string; 'dry-run': boolean },
): Promise<number> {
  const fail = (message: string): number => {
    process.stderr.write(`kallithea-isapi trace: ${message}\n`);
    return 2;
  };
  if (values.freb !== 'on' && values.freb !== 'off') return fail(`--freb ${values.freb}: give on or off`);
  if (!/^\d+$/.test(values.slow) || Number(values.slow) < 1)
    return fail(`--slow ${values.slow}: give whole seconds`);
  const note = readRegistrationNote(await readFile(iniPath, 'utf8').catch(() => ''));
  const site = values.site ?? note?.site;
  const virtualDir = values.virtualdir ?? note?.virtualDir;
  if (site === undefined || site === '' || virtualDir === undefined)
    return fail(`${iniPath} does not say where install registered Kallithea: give --site and --virtualdir`);
  const steps = frebPlan(
    { site, location: configPath({ site, virtualDir }), slowSeconds: Number(values.slow) },
    values.freb === 'on',
  );
  const live = process.platform === 'win32' && !values['dry-run'];
  const out: string[] = [];
  let ok = true;
  if (live) {
    const outcome = await runPlan(steps, windowsPrograms());
    out.push(...outcome.report);
    ok = outcome.ok;
  } else {
    out.push(
      values['dry-run'] ? 'Would run (cmd.exe, elevated):' : 'Not on Windows: run these on the IIS server:',
      '',
      ...printedPlan(steps, printedPrograms),
    );
  }
  const folder = await describeFrebFolder(site, live ? runCommand : undefined, windowsPrograms().appcmd);
  out.push(
    '',
    values.freb === 'on'
      ? `IIS writes the traces (fr######.xml, open them in a browser with freb.xsl beside them) to ${folder}.`
      : `The rule is removed; earlier traces stay in ${folder}. The site's tracing switch stays on (other applications may use it).`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
  return ok ? 0 : 1;
}

export async function run(args: string[]): Promise<number> {
  const values = parseCommandArgs(
    'trace',
    args,
    {
      config: { type: 'string', short: 'c' },
      dll: { type: 'string' },
      errors: { type: 'boolean', default: false },
      lines: { type: 'string', short: 'n', default: '0' },
      file: { type: 'string', multiple: true, default: [] },
      freb: { type: 'string' },
      slow: { type: 'string', default: '60' },
      site: { type: 'string' },
      virtualdir: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
    },
    help,
  );
  if (typeof values === 'number') return values;
  if (values.freb !== undefined) {
    const iniPath = path.resolve(values.config ?? process.env.KALLITHEA_ISAPI_INI ?? 'kallithea-isapi.ini');
    return configureFreb(iniPath, { ...values, freb: values.freb });
  }
  if (!/^\d+$/.test(values.lines)) {
    process.stderr.write(`kallithea-isapi trace: --lines ${values.lines}: give a whole number\n`);
    return 2;
  }
  const count = Number(values.lines);

  const iniPath = path.resolve(values.config ?? process.env.KALLITHEA_ISAPI_INI ?? 'kallithea-isapi.ini');
  const ini = await readKallitheaIsapiIni(iniPath);
  if (ini.text === undefined) {
    process.stderr.write(`kallithea-isapi trace: ${problemText(ini.fileProblems[0]!)}\n`);
    return 1;
  }
  const { isapi, bridge } = ini;
  // Trace still runs on a broken ini (that is when it is needed most), with the defaults.
  for (const problem of [...ini.fileProblems, ...isapi.problems, ...bridge.problems]) {
    process.stderr.write(`warning: ${problemText(problem)}\n`);
  }
  const dllDir = values.dll === undefined ? path.dirname(iniPath) : path.dirname(path.resolve(values.dll));
  const files = [path.resolve(dllDir, isapi.settings.logFile)];
  if (bridge.settings.accessLog !== '-')
    files.push(path.resolve(path.dirname(iniPath), bridge.settings.accessLog));
  else
    process.stderr.write(
      "note: [bridge] access_log = - (stderr); the bridge's lines reach the DLL's log only\n",
    );
  for (const extra of values.file) files.push(path.resolve(extra));
  const unique = [...new Set(files)];

  const filter = new ErrorFilter();
  const label = unique.length > 1 ? (file: string) => `${path.basename(file)}: ` : () => '';
  const keep = (file: string, line: string): boolean => !values.errors || filter.accept(file, line);

  const startAt = new Map<string, number>();
  for (const file of unique) {
    try {
      const tail = await lastLines(file, values.errors ? -1 : count);
      startAt.set(file, tail.size);
      const shown = tail.lines.filter((line) => keep(file, line));
      for (const line of count === 0 ? [] : shown.slice(Math.max(0, shown.length - count))) {
        process.stdout.write(`${label(file)}${line}\n`);
      }
    } catch {
      startAt.set(file, 0); // not there yet: read all of it once it appears
    }
  }
  process.stderr.write(`following ${unique.join(', ')} (Ctrl+C to stop)\n`);
  const note = readRegistrationNote(ini.text);
  if (note !== undefined && note.site !== '') {
    const live = process.platform === 'win32';
    const folder = await describeFrebFolder(
      note.site,
      live ? runCommand : undefined,
      windowsPrograms().appcmd,
    );
    process.stderr.write(
      `IIS Failed Request Tracing (kallithea-isapi trace --freb on) writes to ${folder}\n`,
    );
  }

  const onEvent = (event: FollowEvent): void => {
    if (event.kind === 'notice') process.stderr.write(`-- ${event.file}: ${event.message}\n`);
    else if (keep(event.file, event.line)) process.stdout.write(`${label(event.file)}${event.line}\n`);
  };
  const follower = new LogFollower(unique, onEvent, { startAt });
  follower.start();
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await follower.stop();
  return 0;
}
