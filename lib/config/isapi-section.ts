// The [isapi] section of kallithea-isapi.ini, as the DLL reads it (native/isapi has its own
// C++ reader). This TypeScript copy of its rules lets `kallithea-isapi check` report every bad
// key before IIS loads the DLL, and lets `install` validate what it writes. Keys, defaults and
// meanings are fixed in the team conventions; keep the two readers in step.

import type { ConfigProblem } from './problems.js';

export type IsapiMode = 'spawn' | 'connect';

export interface IsapiSettings {
  mode: IsapiMode;
  bridgeAddress: string | undefined;
  node: string;
  bridgeScript: string | undefined;
  threads: number;
  maxConnections: number;
  maxQueued: number;
  connectTimeout: number;
  startupTimeout: number;
  drainTimeout: number;
  queueTimeout: number;
  rapidFailsPerMinute: number;
  logFile: string;
  secretFile: string | undefined;
}

export const isapiDefaults: IsapiSettings = {
  mode: 'spawn',
  bridgeAddress: undefined,
  node: 'node',
  bridgeScript: undefined,
  threads: 0,
  maxConnections: 64,
  maxQueued: 1000,
  connectTimeout: 5,
  startupTimeout: 30,
  drainTimeout: 30,
  queueTimeout: 30,
  rapidFailsPerMinute: 5,
  logFile: 'kallithea_isapi.log',
  secretFile: undefined,
};

type Reader = (value: string) => { value: unknown } | { fix: string };

function integer(min: number, max: number): Reader {
  return (text) => {
    if (!/^\d+$/.test(text)) return { fix: `give a whole number from ${min} to ${max}` };
    const value = Number(text);
    return value >= min && value <= max ? { value } : { fix: `give a whole number from ${min} to ${max}` };
  };
}

function seconds(min: number, max: number): Reader {
  return (text) => {
    if (!/^\d+(\.\d+)?$/.test(text))
      return { fix: `give seconds as a number from ${min} to ${max}, e.g. 5 or 2.5` };
    const value = Number(text);
    return value >= min && value <= max
      ? { value }
      : { fix: `give seconds as a number from ${min} to ${max}, e.g. 5 or 2.5` };
  };
}

const path: Reader = (text) =>
  text === '' ? { fix: 'give a path, or remove the line for the default' } : { value: text };
const optionalPath: Reader = (text) => ({ value: text === '' ? undefined : text });

/** `unix:/path`, `tcp:127.0.0.1:9000` or `pipe:\\.\pipe\name`, as the conventions fix them. */
export function bridgeAddressProblem(text: string): string | undefined {
  if (/^unix:\/.+/.test(text) || /^unix:[A-Za-z]:[\\/].+/.test(text)) return undefined;
  const tcp = /^tcp:(.+):(\d+)$/.exec(text);
  if (tcp) {
    const port = Number(tcp[2]);
    if (port >= 1 && port <= 65535) return undefined;
    return 'the port must be from 1 to 65535';
  }
  if (/^pipe:\\\\\.\\pipe\\[^\\]+$/.test(text)) return undefined;
  return 'give unix:/path/to.sock, tcp:127.0.0.1:9000 or pipe:\\\\.\\pipe\\name';
}

const address: Reader = (text) => {
  const problem = bridgeAddressProblem(text);
  return problem === undefined ? { value: text } : { fix: problem };
};

const readers: Record<string, [keyof IsapiSettings, Reader]> = {
  mode: [
    'mode',
    (text) => (text === 'spawn' || text === 'connect' ? { value: text } : { fix: 'give spawn or connect' }),
  ],
  bridge_address: ['bridgeAddress', address],
  node: ['node', path],
  bridge_script: ['bridgeScript', path],
  threads: ['threads', integer(0, 1024)],
  max_connections: ['maxConnections', integer(1, 10000)],
  max_queued: ['maxQueued', integer(0, 1000000)],
  connect_timeout: ['connectTimeout', seconds(0.001, 3600)],
  startup_timeout: ['startupTimeout', seconds(0.001, 3600)],
  drain_timeout: ['drainTimeout', seconds(0, 3600)],
  queue_timeout: ['queueTimeout', seconds(0, 3600)],
  rapid_fails_per_minute: ['rapidFailsPerMinute', integer(1, 1000)],
  log_file: ['logFile', path],
  secret_file: ['secretFile', optionalPath],
};

export const isapiKeys: readonly string[] = Object.keys(readers);

/**
 * Validates the [isapi] section's raw key/value strings. Unknown keys and bad values are
 * problems, each naming the file, the key and the fix; the settings hold the defaults for
 * anything missing or bad.
 */
export function readIsapiSection(
  raw: Readonly<Record<string, string>>,
  file: string,
): { settings: IsapiSettings; problems: ConfigProblem[] } {
  const settings: IsapiSettings = { ...isapiDefaults };
  const problems: ConfigProblem[] = [];
  const problem = (key: string, what: string, fix: string): void => {
    problems.push({ file, key: `[isapi] ${key}`, problem: what, fix });
  };
  for (const [key, text] of Object.entries(raw)) {
    const entry = readers[key];
    if (entry === undefined) {
      problem(key, 'unknown key', `the [isapi] keys are ${isapiKeys.join(', ')}`);
      continue;
    }
    const [field, read] = entry;
    const result = read(text.trim());
    if ('fix' in result) problem(key, `bad value ${JSON.stringify(text)}`, result.fix);
    else (settings as unknown as Record<string, unknown>)[field] = result.value;
  }
  if (settings.mode === 'connect' && settings.bridgeAddress === undefined && !('bridge_address' in raw)) {
    problem(
      'bridge_address',
      'missing',
      'mode = connect needs the address of a running bridge, e.g. tcp:127.0.0.1:9000',
    );
  }
  if (settings.mode === 'spawn' && settings.bridgeScript === undefined && !('bridge_script' in raw)) {
    problem(
      'bridge_script',
      'missing',
      'mode = spawn needs the path of bin/kallithea-isapi.js to start the bridge with',
    );
  }
  return { settings, problems };
}
