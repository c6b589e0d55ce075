// The kallithea-isapi.ini that install writes next to the DLL: spawn mode, this node and this
// package's bridge script, the path of Kallithea's my.ini and the Python of its virtualenv
// (the bridge runs Kallithea's workers with it). Everything else keeps its
// default and is listed commented out, so an administrator sees what can be tuned.
import { bridgeDefaults, defaultMaxWorkers, defaultWorkers } from '../config/bridge-section.js';
import { isapiDefaults } from '../config/isapi-section.js';

export interface IsapiIniInput {
  node: string;
  bridgeScript: string;
  kallitheaConfig: string;
  /** Kallithea's Python; undefined: Kallithea is run by someone else (upstream). */
  python: string | undefined;
  logFile: string;
  /** When it was written, for the header comment. */
  writtenAt: Date;
  /** How install registered it with IIS; check reads it back from the comment. */
  registration: IisRegistrationNote;
}

export interface IisRegistrationNote {
  site: string;
  virtualDir: string;
  pool: string;
  bitness: number;
}

const notePrefix = '; IIS registration: ';

function registrationNote(note: IisRegistrationNote): string {
  return `${notePrefix}virtualdir=${note.virtualDir}; site=${note.site}; pool=${note.pool}; bitness=${note.bitness}`;
}

/** The registration install recorded in the ini's comment, if any. */
export function readRegistrationNote(text: string): IisRegistrationNote | undefined {
  const line = text.split(/\r?\n/).find((l) => l.startsWith(notePrefix));
  if (line === undefined) return undefined;
  const fields = new Map(
    line
      .slice(notePrefix.length)
      .split('; ')
      .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)] as const),
  );
  const virtualDir = fields.get('virtualdir');
  const bitness = Number(fields.get('bitness'));
  if (virtualDir === undefined || (bitness !== 64 && bitness !== 32)) return undefined;
  return { virtualDir, site: fields.get('site') ?? '', pool: fields.get('pool') ?? '', bitness };
}

export function isapiIniText(input: IsapiIniInput): string {
  const d = isapiDefaults;
  return [
    `; kallithea-isapi.ini, written by 'kallithea-isapi install' on ${input.writtenAt.toISOString()}.`,
    '; Check it with: kallithea-isapi check --config <this file>. Times are in seconds.',
    registrationNote(input.registration),
    '',
    '[isapi]',
    'mode = spawn',
    `node = ${input.node}`,
    `bridge_script = ${input.bridgeScript}`,
    `log_file = ${input.logFile}`,
    `;threads = ${d.threads}`,
    `;max_connections = ${d.maxConnections}`,
    `;max_queued = ${d.maxQueued}`,
    `;connect_timeout = ${d.connectTimeout}`,
    `;startup_timeout = ${d.startupTimeout}`,
    `;drain_timeout = ${d.drainTimeout}`,
    `;queue_timeout = ${d.queueTimeout}`,
    `;rapid_fails_per_minute = ${d.rapidFailsPerMinute}`,
    '',
    '[bridge]',
    `kallithea_config = ${input.kallitheaConfig}`,
    input.python === undefined
      ? "; python = <Kallithea's venv>\\Scripts\\python.exe   ; then the bridge runs Kallithea's workers"
      : `python = ${input.python}`,
    `;workers = ${defaultWorkers}                ; Kallithea processes, one request each; default: CPUs, at least 2`,
    `;max_workers = ${defaultMaxWorkers(defaultWorkers)}            ; with extras started while hg/git clones hold workers (~100 MiB each); default: 2 x workers`,
    `;worker_idle_timeout = ${bridgeDefaults.workerIdleTimeout}     ; an extra worker idle this long stops`,
    `;stream_priority = ${bridgeDefaults.streamPriority} ; a worker's priority while it serves a clone/pull/push; or normal`,
    input.python === undefined
      ? ';upstream = http://127.0.0.1:5000   ; Kallithea run by someone else (gearbox serve)'
      : ';upstream = http://127.0.0.1:5000',
    ';user_header = X-Forwarded-User',
    ';access_log = -',
    '',
  ].join('\n');
}
