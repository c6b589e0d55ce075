// `kallithea-isapi check`: validates kallithea-isapi.ini, Kallithea's my.ini and everything a
// start needs, one line per check with the fix. Exit status 0 only when every check passed.
import path from 'node:path';
import { runDeploymentChecks } from '../../iis/deployment-checks.js';
import { parseCommandArgs } from '../command-args.js';

export const summary = 'check kallithea-isapi.ini, my.ini, Kallithea, node, the DLL and log folders';

const help = `usage: kallithea-isapi check [--config kallithea-isapi.ini] [--dll PATH] [--virtualdir PATH]

Checks everything a start needs and prints one line per check, OK or FAIL with the fix.
  --config FILE      the ini (default: $KALLITHEA_ISAPI_INI, else ./kallithea-isapi.ini)
  --dll PATH         the DLL (default: kallithea_isapi.dll beside the ini)
  --virtualdir PATH  where IIS serves Kallithea (default: as recorded by install)
A WARN line (a well-known user_header that any local process could send; on Windows,
http.sys header limits below what hg needs) does not fail the check.
Exit status 0 only if every check is OK.
`;

export async function run(args: string[]): Promise<number> {
  const values = parseCommandArgs(
    'check',
    args,
    {
      config: { type: 'string', short: 'c' },
      dll: { type: 'string' },
      virtualdir: { type: 'string' },
    },
    help,
  );
  if (typeof values === 'number') return values;
  const iniPath = values.config ?? process.env.KALLITHEA_ISAPI_INI ?? path.resolve('kallithea-isapi.ini');
  const results = await runDeploymentChecks({
    iniPath,
    ...(values.dll === undefined ? {} : { dllPath: values.dll }),
    ...(values.virtualdir === undefined ? {} : { virtualDir: values.virtualdir }),
  });
  const width = Math.max(...results.map((r) => r.name.length));
  for (const result of results) {
    const label = !result.ok ? 'FAIL' : result.warning === true ? 'WARN' : 'OK  ';
    process.stdout.write(`${label}  ${result.name.padEnd(width)}  ${result.detail}\n`);
  }
  const failed = results.filter((r) => !r.ok).length;
  const warnings = results.filter((r) => r.warning === true).length;
  const warned = warnings === 0 ? '' : ` (${warnings} warning(s))`;
  process.stdout.write(
    failed === 0 ? `All checks passed${warned}.\n` : `${failed} check(s) failed${warned}.\n`,
  );
  return failed === 0 ? 0 : 1;
}
