// The [bridge] section of kallithea-isapi.ini: defaults, validation and the upstream it
// resolves to. Keys and defaults are fixed in the team conventions. Every problem is
// collected (file, key, fix): `check` lists them all, the bridge's start-up stops with a
// ConfigError naming them. [isapi] belongs to the DLL and is read by isapi-section.ts.
import { dirname, resolve } from 'node:path';
import { listenAddressProblem } from './listen-address.js';
import type { IniSection } from './ini-text.js';
import type { ConfigProblem } from './problems.js';

export interface BridgeSettings {
  /** The FastCGI listen address, or undefined when only `--listen` gives it. */
  listen: string | undefined;
  /** Absolute path of Kallithea's my.ini, if named. */
  kallitheaConfig: string | undefined;
  /** Kallithea's origin: `upstream`, else from my.ini, else http://127.0.0.1:5000. */
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
   * TCP keep-alive probes on connections to Kallithea (default on). Only the Wine test stack
   * turns them off: Wine fails setKeepAlive on a connecting socket; Windows does not.
   */
  upstreamTcpKeepAlive: boolean;
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
  upstream_tcp_keepalive: 'upstreamTcpKeepAlive',
};

const SECONDS_KEYS = new Set<Key>([
  'connectTimeout',
  'headersTimeout',
  'bodyTimeout',
  'shutdownTimeout',
  'handshakeTimeout',
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
  switch (key) {
    case 'maxConnections': {
      if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 1024) {
        return 'give a whole number of connections from 1 to 1024';
      }
      settings.maxConnections = Number(text);
      return undefined;
    }
    case 'userHeader':
      if (!/^[A-Za-z0-9!#$%&'*+.^`|~-]+$/.test(text)) {
        return 'give an HTTP header name of letters, digits and dashes, e.g. X-Forwarded-User (no underscores: servers drop those)';
      }
      settings.userHeader = text;
      return undefined;
    case 'upstream': {
      let url: URL;
      try {
        url = new URL(text);
      } catch {
        return "give Kallithea's address as http://host:port, e.g. http://127.0.0.1:5000";
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
  return { settings, problems };
}
