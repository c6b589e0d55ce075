// The kallithea-isapi.ini serve hands the DLL (through env KALLITHEA_ISAPI_INI): spawn mode,
// this node and this package's bridge script, and Kallithea's my.ini and Python for the
// bridge, which runs the Kallithea workers. It lives
// in a private temporary folder (mode 0700) that serve removes when it stops, so several
// serve runs never share or overwrite each other's settings.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SpawnIniInput {
  node: string;
  bridgeScript: string;
  kallitheaConfig: string;
  /** Kallithea's Python, which runs the workers. */
  python: string;
  workers: number;
  /** [bridge] max_workers and worker_idle_timeout; default the bridge's. */
  maxWorkers?: number | undefined;
  workerIdleTimeout?: number | undefined;
  /** [bridge] stream_priority; default the bridge's (below_normal). */
  streamPriority?: 'below_normal' | 'normal' | undefined;
  /** The DLL's log; default kallithea_isapi.log in the temporary folder. */
  logFile?: string;
  /** [bridge] user_header; default the bridge's (X-Forwarded-User). */
  userHeader?: string | undefined;
}

export interface SpawnIni {
  folder: string;
  file: string;
  logFile: string;
  remove(): Promise<void>;
}

export function spawnIniText(
  input: Required<Omit<SpawnIniInput, 'userHeader' | 'maxWorkers' | 'workerIdleTimeout' | 'streamPriority'>> &
    SpawnIniInput,
): string {
  return [
    "; written by 'kallithea-isapi serve' for this run only; removed when it stops",
    '[isapi]',
    'mode = spawn',
    `node = ${input.node}`,
    `bridge_script = ${input.bridgeScript}`,
    `log_file = ${input.logFile}`,
    '',
    '[bridge]',
    `kallithea_config = ${input.kallitheaConfig}`,
    `python = ${input.python}`,
    `workers = ${input.workers}`,
    ...(input.maxWorkers === undefined ? [] : [`max_workers = ${input.maxWorkers}`]),
    ...(input.workerIdleTimeout === undefined ? [] : [`worker_idle_timeout = ${input.workerIdleTimeout}`]),
    ...(input.streamPriority === undefined ? [] : [`stream_priority = ${input.streamPriority}`]),
    ...(input.userHeader === undefined ? [] : [`user_header = ${input.userHeader}`]),
    '',
  ].join('\n');
}

export async function writeSpawnIni(input: SpawnIniInput): Promise<SpawnIni> {
  const folder = await mkdtemp(join(tmpdir(), 'kallithea-isapi-serve-'));
  const logFile = input.logFile ?? join(folder, 'kallithea_isapi.log');
  const file = join(folder, 'kallithea-isapi.ini');
  await writeFile(file, spawnIniText({ ...input, logFile }), { mode: 0o600 });
  return {
    folder,
    file,
    logFile,
    remove: () => rm(folder, { recursive: true, force: true }),
  };
}
