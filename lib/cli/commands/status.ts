// `kallithea-isapi status [--json]`: the status page from the command line. It fetches the
// page's JSON form from this machine (a loopback address, which the page's access rule lets
// in) at the application's URL: --url, else http://localhost<virtual dir>/ with the virtual
// directory install recorded in the ini. Without --json it prints the page's sections as
// text (status/render.ts, the same as the HTML page); with --json the snapshot as the page
// gives it.
import path from 'node:path';
import { request } from 'undici';
import { renderText } from '../../bridge/status/render.js';
import type { StatusSnapshot } from '../../bridge/status/snapshot.js';
import { STATUS_PATH } from '../../bridge/status/status-path.js';
import { readRegistrationNote } from '../../iis/isapi-ini-text.js';
import { readKallitheaIsapiIni } from '../../config/kallithea-isapi-ini.js';
import { parseCommandArgs } from '../command-args.js';

export const summary = 'show the status page (DLL, bridge, workers) from this machine (--json: as JSON)';

const help = `usage: kallithea-isapi status [--config kallithea-isapi.ini] [--url URL] [--json]

Fetches the status page (${STATUS_PATH} below the application) from this machine and prints it.
  --config FILE  the ini (default: $KALLITHEA_ISAPI_INI, else ./kallithea-isapi.ini); its
                 IIS registration note gives the virtual directory
  --url URL      the application's URL as this machine reaches it (default
                 http://localhost<virtual dir>/), e.g. https://localhost:8443/kallithea/
  --json         print the page's JSON form
`;

/** The status page's URL below the application's URL. */
export function statusUrl(application: string): string {
  const base = new URL(application);
  base.pathname = `${base.pathname.replace(/\/+$/, '')}${STATUS_PATH}`;
  base.search = '?format=json';
  return base.toString();
}

async function applicationUrl(given: string | undefined, config: string | undefined): Promise<string> {
  if (given !== undefined) return given;
  const iniPath = path.resolve(config ?? process.env.KALLITHEA_ISAPI_INI ?? 'kallithea-isapi.ini');
  const ini = await readKallitheaIsapiIni(iniPath);
  const note = ini.text === undefined ? undefined : readRegistrationNote(ini.text);
  const virtualDir = note?.virtualDir ?? '/';
  return `http://localhost${virtualDir.endsWith('/') ? virtualDir : `${virtualDir}/`}`;
}

export async function run(args: string[]): Promise<number> {
  const values = parseCommandArgs(
    'status',
    args,
    {
      config: { type: 'string', short: 'c' },
      url: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    help,
  );
  if (typeof values === 'number') return values;
  let url: string;
  try {
    url = statusUrl(await applicationUrl(values.url, values.config));
  } catch (error) {
    process.stderr.write(`kallithea-isapi status: ${(error as Error).message}\n`);
    return 2;
  }
  let status: number;
  let text: string;
  try {
    const response = await request(url, { headers: { accept: 'application/json' } });
    status = response.statusCode;
    text = await response.body.text();
  } catch (error) {
    process.stderr.write(
      `kallithea-isapi status: cannot fetch ${url}: ${(error as Error).message}; is IIS (or serve) running, ` +
        'and is that the application URL? (give it with --url)\n',
    );
    return 1;
  }
  if (status !== 200) {
    process.stderr.write(
      `kallithea-isapi status: ${url} answered ${status}: ${text.trim().split('\n')[0] ?? ''}\n`,
    );
    return 1;
  }
  let snapshot: StatusSnapshot;
  try {
    snapshot = JSON.parse(text) as StatusSnapshot;
  } catch {
    process.stderr.write(`kallithea-isapi status: ${url} did not answer with the status page's JSON\n`);
    return 1;
  }
  process.stdout.write(values.json ? `${JSON.stringify(snapshot, null, 2)}\n` : renderText(snapshot));
  return 0;
}
