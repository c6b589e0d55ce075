// The [bridge] section of kallithea-isapi.ini: defaults, validation and the upstream it
// resolves to, or the pool of Kallithea workers it runs (python + kallithea_config). Keys and defaults are fixed in the team conventions. Every problem is
// collected (file, key, fix): `check` lists them all, the bridge's start-up stops with a
// ConfigError naming them. [isapi] belongs to the DLL and is read by isapi-section.ts.
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { listenAddressProblem } from './listen-address.js';
import type { IniSection } from './ini-text.js';
import type { ConfigProblem } from './problems.js';

export interface BridgeSettings {
  /** The FastCGI listen address, or undefined when only `--listen` gives it. */
  listen: string | undefined;
  /** Absolute path of Kallithea's my.ini, if named. */
  kallitheaConfig: string | undefined;
  /**
   * Kallithea's origin (http://host:port, or unix:/absolute/socket/path): `upstream`, else
   * from my.ini, else http://127.0.0.1:5000.
   */
  upstream: string;
  userHeader: string;
  /** Seconds. */
  connectTimeout: number;
  headersTimeout: number;
  bodyTimeout: number;
  maxConnections: number;
  /** `-` for stderr, else an absolute file path. */
  accessLog: string;
  shutdownTimeout: number;
  /** Seconds a new FastCGI connection has to deliver its first whole request. */
  handshakeTimeout: number;
  /**
   * The Python of Kallithea's virtualenv: when set, the bridge runs `workers` Kallithea
   * processes from kallithea_config itself; when not, Kallithea is external (upstream).
   */
  python: string | undefined;
  workers: number;
  /**
   * Workers at most: beyond `workers`, extra ones are started while long hg/git streams
   * hold workers and a request waits, and stopped once idle for workerIdleTimeout.
   * Default 2 x workers (defaultMaxWorkers).
   */
  maxWorkers: number;
  /** Seconds an extra worker stays idle before it is stopped. */
  workerIdleTimeout: number;
  /**
   * The OS priority of a worker while it serves a long hg/git stream: below_normal (the
   * default) keeps pages ahead of clones when streams outnumber CPUs; normal lets them compete.
   */
  streamPriority: 'below_normal' | 'normal';
  /** Requests waiting for a busy worker before 503 + Retry-After. */
  maxQueued: number;
  /** Seconds a worker may take to load Kallithea. */
  workerStartTimeout: number;
  /** Worker exits within a minute after which it is not restarted again. */
  rapidFailsPerMinute: number;
  /**
   * TCP keep-alive probes on connections to Kallithea (default on). Only the Wine test stack
   * turns them off: Wine fails setKeepAlive on a connecting socket; Windows does not.
   */
  upstreamTcpKeepAlive: boolean;
}

/** Default workers: one per CPU, at least 2 (one long clone must not take the only one). */
export const defaultWorkers = Math.max(2, availableParallelism());

/**
 * Default max_workers: twice `workers`. An extra worker serves one clone or push, which costs
 * CPU (git's pack copying, hg's bundles are made in Python) and ~100 MiB of memory (a
 * Kallithea process): beyond two streams per CPU they only slow each other, and queueing
 * them (pages keep their reserved worker) is better; 2 x workers bounds the memory at
 * ~200 MiB per CPU.
 */
export function defaultMaxWorkers(workers: number): number {
  return 2 * workers;
}

export const bridgeDefaults: BridgeSettings = {
  listen: undefined,
  kallitheaConfig: undefined,
  upstream: 'http://127.0.0.1:5000',
  userHeader: 'X-Forwarded-User',
  connectTimeout: 10,
  headersTimeout: 300,
  bodyTimeout: 3600,
  maxConnections: 32,
  accessLog: '-',
  shutdownTimeout: 30,
  handshakeTimeout: 10,
  python: undefined,
  workers: defaultWorkers,
  maxWorkers: defaultMaxWorkers(defaultWorkers),
  workerIdleTimeout: 60,
  streamPriority: 'below_normal',
  maxQueued: 100,
  workerStartTimeout: 120,
  rapidFailsPerMinute: 5,
  upstreamTcpKeepAlive: true,
};

type Key = keyof BridgeSettings;

/** ini key -> settings field. */
const KEYS: Record<string, Key> = {
  listen: 'listen',
  kallithea_config: 'kallitheaConfig',
  upstream: 'upstream',
  user_header: 'userHeader',
  connect_timeout: 'connectTimeout',
  headers_timeout: 'headersTimeout',
  body_timeout: 'bodyTimeout',
  max_connections: 'maxConnections',
  access_log: 'accessLog',
  shutdown_timeout: 'shutdownTimeout',
  handshake_timeout: 'handshakeTimeout',
  python: 'python',
  workers: 'workers',
  max_workers: 'maxWorkers',
  worker_idle_timeout: 'workerIdleTimeout',
  stream_priority: 'streamPriority',
  max_queued: 'maxQueued',
  worker_start_timeout: 'workerStartTimeout',
  rapid_fails_per_minute: 'rapidFailsPerMinute',
  upstream_tcp_keepalive: 'upstreamTcpKeepAlive',
};

/** Whole-number keys: [lowest, highest, what is counted]. */
const COUNT_KEYS: Partial<Record<Key, [number, number, string]>> = {
  maxConnections: [1, 1024, 'connections'],
  workers: [1, 64, 'worker processes'],
  maxWorkers: [1, 128, 'worker processes'],
  maxQueued: [0, 100_000, 'queued requests'],
  rapidFailsPerMinute: [1, 1000, 'exits'],
};

const SECONDS_KEYS = new Set<Key>([
  'connectTimeout',
  'headersTimeout',
  'bodyTimeout',
  'shutdownTimeout',
  'handshakeTimeout',
  'workerStartTimeout',
  'workerIdleTimeout',
]);

function seconds(text: string): number | undefined {
  if (!/^\d+(\.\d+)?$/.test(text)) return undefined;
  const value = Number(text);
  return value > 0 && value <= 7 * 24 * 3600 ? value : undefined;
}

/** Checks one key; returns the fix when the value is bad. */
function check(settings: BridgeSettings, key: Key, text: string, folder: string): string | undefined {
  if (SECONDS_KEYS.has(key)) {
    const value = seconds(text);
    if (value === undefined) return 'give seconds as a number above 0, e.g. 30 or 2.5';
    (settings[key] as number) = value;
    return undefined;
  }
  const count = COUNT_KEYS[key];
  if (count !== undefined) {
    const [lowest, highest, what] = count;
    if (!/^\d+$/.test(text) || Number(text) < lowest || Number(text) > highest) {
      return `give a whole number of ${what} from ${lowest} to ${highest}`;
    }
    (settings[key] as number) = Number(text);
    return undefined;
  }
  switch (key) {
    case 'python':
      if (text === '') return "give the python executable of Kallithea's virtualenv, or remove the key";
      settings.python = resolve(folder, text);
      return undefined;
    case 'userHeader':
      if (!/^[A-Za-z0-9!#$%&'*+.^`|~-]+$/.test(text)) {
        return 'give an HTTP header name of letters, digits and dashes, e.g. X-Forwarded-User (no underscores: servers drop those)';
      }
      settings.userHeader = text;
      return undefined;
    case 'upstream': {
      // A Kallithea on the same machine may listen on a Unix socket: one hop less of TCP
      // loopback per request (the upstream client's pool takes `unix:` origins).
      if (text.startsWith('unix:')) {
        if (text === 'unix:') return "give the socket's path after unix:, e.g. unix:/run/kallithea.sock";
        settings.upstream = `unix:${resolve(folder, text.slice('unix:'.length))}`;
        return undefined;
      }
      let url: URL;
      try {
        url = new URL(text);
      } catch {
        return "give Kallithea's address as http://host:port, e.g. http://127.0.0.1:5000, or unix:/path/of/its.sock";
      }
      if (url.protocol !== 'http:' || url.pathname !== '/' || url.search !== '' || url.username !== '') {
        return "give Kallithea's address as http://host:port with no path, e.g. http://127.0.0.1:5000";
      }
      settings.upstream = url.origin;
      return undefined;
    }
    case 'listen': {
      const problem = listenAddressProblem(text);
      if (problem !== undefined) return problem;
      settings.listen = text;
      return undefined;
    }
    case 'kallitheaConfig':
      if (text === '') return "give the path of Kallithea's my.ini, or remove the key";
      settings.kallitheaConfig = resolve(folder, text);
      return undefined;
    case 'streamPriority':
      if (text !== 'below_normal' && text !== 'normal') {
        return 'give below_normal (the default: clones yield the CPU to pages) or normal';
      }
      settings.streamPriority = text;
      return undefined;
    case 'upstreamTcpKeepAlive':
      if (text !== 'on' && text !== 'off')
        return 'give on (the default) or off (only for the Wine test stack)';
      settings.upstreamTcpKeepAlive = text === 'on';
      return undefined;
    case 'accessLog':
      if (text === '') return "give '-' for stderr or a file path";
      settings.accessLog = text === '-' ? '-' : resolve(folder, text);
      return undefined;
    default:
      return 'this key cannot be set here';
  }
}

/** Validates a [bridge] section already read from `file`; the upstream is not resolved yet. */
export function checkBridgeSection(
  file: string,
  section: IniSection | undefined,
): { settings: BridgeSettings; problems: ConfigProblem[] } {
  const settings: BridgeSettings = { ...bridgeDefaults };
  const problems: ConfigProblem[] = [];
  const folder = dirname(resolve(file));
  for (const [name, raw] of Object.entries(section ?? {})) {
    const key = KEYS[name];
    if (key === undefined) {
      problems.push({
        file,
        key: `[bridge] ${name}`,
        problem: 'unknown key',
        fix: `the [bridge] keys are ${Object.keys(KEYS).join(', ')}`,
      });
      continue;
    }
    const fix = check(settings, key, raw.trim(), folder);
    if (fix !== undefined) {
      problems.push({ file, key: `[bridge] ${name}`, problem: `bad value ${JSON.stringify(raw)}`, fix });
    }
  }
  const maxWorkersKey = Object.keys(section ?? {}).includes('max_workers');
  if (!maxWorkersKey) settings.maxWorkers = defaultMaxWorkers(settings.workers);
  else if (settings.maxWorkers < settings.workers) {
    problems.push({
      file,
      key: '[bridge] max_workers',
      problem: `${settings.maxWorkers} is below workers (${settings.workers})`,
      fix: `give at least ${settings.workers} (= workers: no extra workers), or remove it for ${defaultMaxWorkers(settings.workers)}`,
    });
  }
  return { settings, problems };
}
