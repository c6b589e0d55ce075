// Everything a start of the DLL and its bridge needs, checked in the order a start would trip
// over it, each as one result with the fix. `kallithea-isapi check` prints them; the first
// request through IIS would otherwise find the same faults one at a time, as 500s.
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { prefixMismatch } from '../config/kallithea-ini.js';
import { readKallitheaIsapiIni } from '../config/kallithea-isapi-ini.js';
import { problemText } from '../config/problems.js';
import { httpLimitFindings, queryHttpLimits } from './http-sys-limits.js';
import { readRegistrationNote } from './isapi-ini-text.js';
import { inspectPeFile } from './pe-machine.js';
import { runCommand, windowsPrograms } from './run-plan.js';
import { checkWorkers } from './worker-checks.js';

export interface CheckResult {
  ok: boolean;
  /** An ok result that still needs the administrator's attention (printed WARN). */
  warning?: boolean;
  name: string;
  /** What was found and, when not ok, the fix. */
  detail: string;
}

export interface CheckOptions {
  iniPath: string;
  /** The DLL; default kallithea_isapi.dll beside the ini. */
  dllPath?: string;
  /** Where IIS serves Kallithea; default what install recorded in the ini. */
  virtualDir?: string;
  /** How long Kallithea may take to answer GET /, in milliseconds. */
  httpTimeoutMs?: number;
  /** Reads http.sys's limits (`reg query` outputs); default: the registry on Windows, none elsewhere. */
  queryHttpLimits?: () => Promise<Record<string, string | null>>;
}

/** http.sys's header limits: a warning for each below what hg's X-HgArg headers need. */
export function httpLimitChecks(outputs: Readonly<Record<string, string | null>>): CheckResult[] {
  return httpLimitFindings(outputs).map((finding) => ({
    ok: true,
    ...(finding.low ? { warning: true } : {}),
    name: `http.sys ${finding.name}`,
    detail: finding.text,
  }));
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

async function writableFolder(folder: string): Promise<string | undefined> {
  try {
    if (!(await stat(folder)).isDirectory()) return `${folder} is not a folder`;
    await access(folder, constants.W_OK);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return `${folder} does not exist: create it`;
    return `${folder} is not writable (${code ?? (error as Error).message}): grant write access to the application pool's identity`;
  }
}

/** A bare name like `node` is looked up on PATH, as CreateProcess and execvp would. */
async function findExecutable(command: string): Promise<string | undefined> {
  if (command.includes('/') || command.includes('\\')) return (await isFile(command)) ? command : undefined;
  const extensions = process.platform === 'win32' ? ['.exe', '.cmd', ''] : [''];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    for (const ext of extensions) {
      const candidate = path.join(dir, command + ext);
      if (await isFile(candidate)) return candidate;
    }
  }
  return undefined;
}

/** Header names any HTTP client may send and that proxies commonly use to name a user. */
const WELL_KNOWN_USER_HEADERS = new Set(['x-forwarded-user', 'remote-user', 'x-remote-user']);

/**
 * The bridge's user header: a well-known name is a warning, since any local process that
 * reaches Kallithea's port directly can send it and be taken for whomever it names.
 */
export function userHeaderCheck(userHeader: string): CheckResult {
  if (!WELL_KNOWN_USER_HEADERS.has(userHeader.toLowerCase())) {
    return { ok: true, name: 'user_header', detail: 'a name of its own (not shown)' };
  }
  return {
    ok: true,
    warning: true,
    name: 'user_header',
    detail:
      `[bridge] user_header = ${userHeader} is a well-known name: any local process that reaches ` +
      `Kallithea's port can send '${userHeader}: admin' and be logged in as admin; run ` +
      `'kallithea-isapi configure-kallithea -c my.ini' to make a secret header in both places`,
  };
}

/**
 * Where `check` asks Kallithea: an http:// origin, or a Unix socket (`upstream = unix:/path`,
 * which `new URL` would read as a URL without a host).
 */
type UpstreamProbe = { readonly label: string } & ({ readonly url: URL } | { readonly socketPath: string });

function upstreamProbe(upstream: string): UpstreamProbe {
  if (upstream.startsWith('unix:')) return { label: `GET / on ${upstream}`, socketPath: upstream.slice(5) };
  const url = new URL('/', upstream);
  return { label: `GET ${url.href}`, url };
}

/** host:port of an http:// upstream, or the unix: address as written. */
function upstreamWhere(upstream: string): string {
  return upstream.startsWith('unix:') ? upstream : new URL(upstream).host;
}

/** GET / at the upstream; any HTTP status means Kallithea's server is up. */
function probeHttp(probe: UpstreamProbe, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const options = { timeout: timeoutMs, agent: false };
    const answered = (response: http.IncomingMessage): void => {
      response.resume();
      resolve(`HTTP ${response.statusCode ?? '?'}`);
    };
    const request =
      'url' in probe
        ? http.get(probe.url, options, answered)
        : http.get(
            { ...options, socketPath: probe.socketPath, path: '/', headers: { Host: 'localhost' } },
            answered,
          );
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    request.on('error', reject);
  });
}

export async function runDeploymentChecks(options: CheckOptions): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const ok = (name: string, detail: string): void => void results.push({ ok: true, name, detail });
  const fail = (name: string, detail: string): void => void results.push({ ok: false, name, detail });
  const iniPath = path.resolve(options.iniPath);
  const iniDir = path.dirname(iniPath);

  const ini = await readKallitheaIsapiIni(iniPath);
  const text = ini.text;
  if (text === undefined) {
    fail('ini file', `cannot read ${iniPath}; run 'kallithea-isapi install' or give --config`);
    return results;
  }
  if (ini.fileProblems.length === 0) ok('ini syntax', iniPath);
  for (const problem of ini.fileProblems) {
    fail(problem.line === undefined ? 'ini sections' : 'ini syntax', problemText(problem));
  }
  const { isapi, bridge } = ini;
  if (isapi.problems.length === 0) ok('[isapi] keys', `mode = ${isapi.settings.mode}`);
  for (const problem of isapi.problems) fail(problem.key ?? '[isapi]', problemText(problem));
  if (bridge.problems.length === 0) ok('[bridge] keys', 'all known, all valid');
  for (const problem of bridge.problems) fail(problem.key ?? '[bridge]', problemText(problem));
  for (const problem of ini.status.problems) fail(problem.key ?? '[status]', problemText(problem));
  if (bridge.problems.length === 0) results.push(userHeaderCheck(bridge.settings.userHeader));

  // Kallithea's my.ini, and where Kallithea listens.
  const myIni = bridge.settings.kallitheaConfig;
  const upstreamSet = ini.upstreamFrom === 'upstream';
  const facts = ini.kallithea?.problems.length === 0 ? ini.kallithea.facts : undefined;
  if (myIni === undefined) {
    if (!upstreamSet) {
      fail('my.ini', `${iniPath}: [bridge] kallithea_config is not set: give the path of Kallithea's my.ini`);
    }
  } else if (!(await isFile(myIni))) {
    fail('my.ini', `${myIni} (from [bridge] kallithea_config) does not exist: fix the path`);
  } else if (facts !== undefined) {
    ok('my.ini', `${myIni} parses`);
  } else {
    for (const problem of ini.kallithea?.problems ?? []) fail('my.ini', problemText(problem));
  }

  let upstream: UpstreamProbe | undefined;
  const from = upstreamSet ? '[bridge] upstream' : `${myIni} [server:main]`;
  if (upstreamSet || ini.upstreamFrom === 'kallithea_config') {
    upstream = upstreamProbe(bridge.settings.upstream);
    ok('upstream', `${upstreamWhere(bridge.settings.upstream)} (from ${from})`);
  }
  if (ini.upstreamFrom === 'workers' && myIni !== undefined && facts !== undefined) {
    const python = bridge.settings.python as string;
    if (!(await isFile(python))) {
      fail('python', `[bridge] python = ${python}: no such file; give the python of Kallithea's virtualenv`);
    } else {
      for (const worker of await checkWorkers(bridge.settings, myIni, python)) {
        (worker.ok ? ok : fail)(worker.name, worker.detail);
      }
    }
  }
  if (upstream !== undefined) {
    const timeoutMs = options.httpTimeoutMs ?? 5000;
    try {
      ok('Kallithea answers', `${upstream.label}: ${await probeHttp(upstream, timeoutMs)}`);
    } catch (error) {
      fail(
        'Kallithea answers',
        `${upstream.label}: ${(error as Error).message}; start Kallithea ` +
          `(gearbox serve -c ${myIni ?? 'my.ini'}) or fix the upstream`,
      );
    }
  }

  // The prefix filter against the virtual directory IIS serves Kallithea under.
  const note = readRegistrationNote(text);
  const virtualDir = options.virtualDir ?? note?.virtualDir;
  if (facts !== undefined && myIni !== undefined) {
    if (virtualDir === undefined) {
      ok(
        'prefix filter',
        facts.prefix === undefined
          ? 'none in my.ini: right when IIS serves Kallithea at the site root (give --virtualdir to check)'
          : `my.ini sets prefix ${facts.prefix}: IIS must serve Kallithea under ${facts.prefix} (give --virtualdir to check)`,
      );
    } else {
      const mismatch = prefixMismatch(facts, virtualDir, myIni);
      if (mismatch === undefined) ok('prefix filter', `fits the virtual directory ${virtualDir}`);
      else fail('prefix filter', mismatch.replace(/\n\s*/g, ' | '));
    }
  }

  // What spawn mode starts: node and the bridge script.
  if (isapi.settings.mode === 'spawn') {
    const node = await findExecutable(isapi.settings.node);
    if (node === undefined) {
      fail(
        'node',
        `${iniPath}: [isapi] node = ${isapi.settings.node} not found: give the full path of node.exe`,
      );
    } else {
      ok('node', node);
    }
    const script = isapi.settings.bridgeScript;
    if (script !== undefined) {
      const scriptPath = path.resolve(iniDir, script);
      if (await isFile(scriptPath)) ok('bridge_script', scriptPath);
      else
        fail(
          'bridge_script',
          `${iniPath}: [isapi] bridge_script = ${script}: no such file; give the path of bin/kallithea-isapi.js`,
        );
    }
  } else if (isapi.settings.secretFile !== undefined) {
    const secretPath = path.resolve(iniDir, isapi.settings.secretFile);
    if (await isFile(secretPath)) ok('secret_file', secretPath);
    else fail('secret_file', `${iniPath}: [isapi] secret_file = ${isapi.settings.secretFile}: no such file`);
  }

  // The DLL beside the ini, and its bitness.
  const dllPath = path.resolve(options.dllPath ?? path.join(iniDir, 'kallithea_isapi.dll'));
  if (!(await isFile(dllPath))) {
    fail('DLL', `${dllPath} not found: the ini belongs next to kallithea_isapi.dll (or give --dll)`);
  } else {
    const pe = await inspectPeFile(dllPath);
    if (!pe.ok) fail('DLL', `${dllPath}: ${pe.reason}`);
    else if (!pe.isDll) fail('DLL', `${dllPath} is a program, not a DLL`);
    else if (pe.bitness === undefined)
      fail('DLL', `${dllPath} is built for ${pe.machineName}; IIS needs the x64 or x86 build`);
    else if (note !== undefined && note.bitness !== pe.bitness) {
      fail(
        'DLL',
        `${dllPath} is ${pe.machineName} but was registered for a ${note.bitness}-bit pool: IIS answers 500.21; ` +
          `run 'kallithea-isapi install --bitness ${pe.bitness} --keep-ini' again`,
      );
    } else {
      ok('DLL', `${dllPath}: ${pe.machineName}`);
    }
  }

  // Log folders: the DLL's log_file is relative to the DLL's folder.
  const logFile = path.resolve(path.dirname(dllPath), isapi.settings.logFile);
  const logProblem = await writableFolder(path.dirname(logFile));
  if (logProblem === undefined) ok('log_file folder', path.dirname(logFile));
  else fail('log_file folder', `[isapi] log_file = ${isapi.settings.logFile}: ${logProblem}`);
  if (bridge.settings.accessLog !== '-') {
    const accessLog = path.resolve(iniDir, bridge.settings.accessLog);
    const accessProblem = await writableFolder(path.dirname(accessLog));
    if (accessProblem === undefined) ok('access_log folder', path.dirname(accessLog));
    else fail('access_log folder', `[bridge] access_log = ${bridge.settings.accessLog}: ${accessProblem}`);
  }

  // http.sys refuses large header blocks before IIS sees them: only the registry of the IIS
  // machine can say, so elsewhere this is not checked.
  const readLimits =
    options.queryHttpLimits ??
    (process.platform === 'win32' ? () => queryHttpLimits(runCommand, windowsPrograms().reg) : undefined);
  if (readLimits !== undefined) results.push(...httpLimitChecks(await readLimits()));
  return results;
}
