// `kallithea-isapi configure-kallithea -c my.ini`: applies the Kallithea settings the bridge
// relies on (lib/kallithea-settings/configure.ts) instead of listing them as steps, and makes
// the bridge's user header secret. `install --configure-kallithea` runs the same.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { readRegistrationNote } from '../../iis/isapi-ini-text.js';
import { readKallitheaIsapiIni } from '../../config/kallithea-isapi-ini.js';
import { findKallitheaPython, kallitheaPythonCandidates } from '../../config/kallithea-python.js';
import { configureKallithea, type ConfigureOutcome } from '../../kallithea-settings/configure.js';
import { packageRoot } from '../../serve/package-paths.js';
import { parseCommandArgs } from '../command-args.js';

export const summary =
  "apply Kallithea's settings for the bridge (container auth, secret user header, prefix)";

const help = `usage: kallithea-isapi configure-kallithea -c my.ini [options]

Applies, through Kallithea's own code run by the Python of its virtualenv, what the bridge
needs from Kallithea: the container authentication plugin on, reading the bridge's user
header and nothing else; Clean username; anonymous access off; external accounts activated
automatically. Makes the user header secret: a random header name, written to
kallithea-isapi.ini ([bridge] user_header) and given to the container plugin, so that only the
bridge can name the user. For a virtual directory, adds the prefix filter to my.ini (after a
backup). Reports each setting as changed or already set; running it again changes nothing.

  -c, --config FILE       Kallithea's my.ini (required)
  --isapi-ini FILE        kallithea-isapi.ini (default: the one that names my.ini, looked for
                          in $KALLITHEA_ISAPI_INI, the current folder, my.ini's folder and
                          beside the package's prebuilt DLLs)
  --virtualdir PATH       where IIS serves Kallithea (default: as install recorded it, else /)
  --venv DIR              Kallithea's virtualenv (default: [bridge] python of the ini, else
                          venv beside my.ini, else the one of kallithea-cli in my.ini)
  --rotate-user-header    make a new secret header name (in kallithea-isapi.ini and Kallithea)
  --dry-run               say what would change and show my.ini's diff; change nothing
`;

/** kallithea-isapi.ini files that may belong to my.ini, most explicit first. */
function isapiIniCandidates(myIni: string): string[] {
  const candidates = [
    process.env.KALLITHEA_ISAPI_INI,
    path.resolve('kallithea-isapi.ini'),
    path.join(path.dirname(myIni), 'kallithea-isapi.ini'),
    path.join(packageRoot, 'prebuilds', 'win32-x64', 'kallithea-isapi.ini'),
    path.join(packageRoot, 'prebuilds', 'win32-ia32', 'kallithea-isapi.ini'),
  ].filter((file): file is string => file !== undefined && existsSync(file));
  return [...new Set(candidates.map((file) => path.resolve(file)))];
}

function sameFile(a: string, b: string): boolean {
  const fold = (p: string): string => (process.platform === 'win32' ? p.toLowerCase() : p);
  return fold(path.resolve(a)) === fold(path.resolve(b));
}

export interface ConfigureCommandOptions {
  readonly myIni: string;
  readonly isapiIni: { readonly file: string; readonly text?: string };
  readonly virtualDir: string;
  readonly python: string;
  readonly rotateUserHeader: boolean;
  readonly dryRun: boolean;
  /** The application pool to recycle when the bridge must read a changed setting. */
  readonly pool: string | undefined;
}

/** Runs configure and turns its outcome into the command's lines and exit status. */
export async function configureAndReport(
  options: ConfigureCommandOptions,
): Promise<{ lines: string[]; code: number }> {
  let outcome: ConfigureOutcome;
  try {
    outcome = await configureKallithea({ ...options, now: new Date() });
  } catch (error) {
    return { lines: [`Kallithea's settings were not applied: ${(error as Error).message}`], code: 1 };
  }
  const lines = [...outcome.lines];
  if (outcome.manual > 0) lines.push('', `${outcome.manual} setting(s) marked 'to do' are for you to make.`);
  if (outcome.restartBridge) {
    lines.push(
      '',
      'The bridge reads kallithea-isapi.ini and my.ini when it starts: if it is running, recycle the',
      `application pool (appcmd recycle apppool /apppool.name:"${options.pool ?? 'Kallithea'}") or restart ` +
        'serve; until then Windows logins fail, as it still sends the old header.',
    );
  } else if (!outcome.changed) {
    lines.push('', 'Nothing to change: every setting was already set.');
  }
  return { lines, code: outcome.manual > 0 ? 1 : 0 };
}

export async function run(args: string[]): Promise<number> {
  const values = parseCommandArgs(
    'configure-kallithea',
    args,
    {
      config: { type: 'string', short: 'c' },
      'isapi-ini': { type: 'string' },
      virtualdir: { type: 'string' },
      venv: { type: 'string' },
      'rotate-user-header': { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
    },
    help,
  );
  if (typeof values === 'number') return values;
  const fail = (message: string): number => {
    process.stderr.write(`kallithea-isapi configure-kallithea: ${message}\n`);
    return 1;
  };
  if (values.config === undefined) return fail("-c my.ini is required: Kallithea's configuration");
  const myIni = path.resolve(values.config);
  if (!existsSync(myIni)) return fail(`-c ${values.config}: no such file; give Kallithea's my.ini`);

  let isapiFile: string;
  if (values['isapi-ini'] !== undefined) {
    isapiFile = path.resolve(values['isapi-ini']);
  } else {
    const found: string[] = [];
    for (const file of isapiIniCandidates(myIni)) {
      const config = (await readKallitheaIsapiIni(file)).bridge.settings.kallitheaConfig;
      if (config !== undefined && sameFile(config, myIni)) found.push(file);
    }
    if (found.length !== 1) {
      return fail(
        found.length === 0
          ? `no kallithea-isapi.ini naming ${myIni} found: give it with --isapi-ini (install writes it next to the DLL)`
          : `several kallithea-isapi.ini name ${myIni} (${found.join(', ')}): pick one with --isapi-ini`,
      );
    }
    isapiFile = found[0] as string;
  }
  const isapi = await readKallitheaIsapiIni(isapiFile);
  if (isapi.text === undefined) return fail(`cannot read ${isapiFile}`);
  const note = readRegistrationNote(isapi.text);

  const cliPath = isapi.kallithea?.sections['app:main']?.kallithea_cli_path;
  const python =
    values.venv === undefined && isapi.bridge.settings.python !== undefined
      ? isapi.bridge.settings.python
      : findKallitheaPython(myIni, values.venv, typeof cliPath === 'string' ? cliPath : undefined);
  if (python === undefined || !existsSync(python)) {
    const looked = python ?? kallitheaPythonCandidates(myIni, values.venv).join(', ');
    return fail(`no Python of Kallithea's virtualenv at ${looked}: give the virtualenv with --venv`);
  }
  const given = values.virtualdir ?? note?.virtualDir ?? '/';
  if (!given.startsWith('/') || /[?\\\s]/.test(given)) {
    return fail(`--virtualdir ${given}: give / or a path like /kallithea`);
  }
  const virtualDir = given.replace(/(.)\/+$/, '$1');

  const { lines, code } = await configureAndReport({
    myIni,
    isapiIni: { file: isapiFile },
    virtualDir,
    python,
    rotateUserHeader: values['rotate-user-header'],
    dryRun: values['dry-run'],
    pool: note?.pool,
  });
  process.stdout.write(`${lines.join('\n')}\n`);
  return code;
}
