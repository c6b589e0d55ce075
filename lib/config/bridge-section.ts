// The [bridge] section of kallithea-isapi.ini: defaults, validation and the upstream it
// resolves to. Keys and defaults are fixed in the team conventions. Every problem stops
// start-up with a ConfigError naming the file, the key and the fix. Other sections ([isapi]
// belongs to the DLL) are not looked at here.
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../bridge/errors.js';
import { readIniFile, type IniSection } from './ini-file.js';
import { kallitheaUpstream } from './kallithea-ini.js';

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
};

const SECONDS_KEYS = new Set<Key>(['connectTimeout', 'headersTimeout', 'bodyTimeout', 'shutdownTimeout']);

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
    case 'listen':
      if (text === '') return 'give an address such as unix:/run/kallithea-isapi.sock or tcp:127.0.0.1:9000';
      settings.listen = text;
      return undefined;
    case 'kallitheaConfig':
      if (text === '') return "give the path of Kallithea's my.ini, or remove the key";
      settings.kallitheaConfig = resolve(folder, text);
      return undefined;
    case 'accessLog':
      if (text === '') return "give '-' for stderr or a file path";
      settings.accessLog = text === '-' ? '-' : resolve(folder, text);
      return undefined;
    default:
      return 'this key cannot be set here';
  }
}

/** Validates a [bridge] section already read from `file`. */
export async function bridgeSettingsFrom(
  file: string,
  section: IniSection | undefined,
): Promise<BridgeSettings> {
  const settings: BridgeSettings = { ...bridgeDefaults };
  const folder = dirname(resolve(file));
  let upstreamSet = false;
  for (const [name, raw] of Object.entries(section ?? {})) {
    const key = KEYS[name];
    if (key === undefined) {
      throw new ConfigError(
        file,
        `[bridge] ${name}`,
        'unknown key',
        `remove it or use one of: ${Object.keys(KEYS).join(', ')}`,
      );
    }
    const fix = check(settings, key, raw.trim(), folder);
    if (fix !== undefined) throw new ConfigError(file, `[bridge] ${name}`, `bad value '${raw}'`, fix);
    if (key === 'upstream') upstreamSet = true;
  }
  if (!upstreamSet && settings.kallitheaConfig !== undefined) {
    settings.upstream = await kallitheaUpstream(settings.kallitheaConfig);
  }
  return settings;
}

/** Reads kallithea-isapi.ini's [bridge] section; no file at all means every default. */
export async function readBridgeSettings(file: string | undefined): Promise<BridgeSettings> {
  if (file === undefined) return { ...bridgeDefaults };
  const ini = await readIniFile(file, 'the kallithea-isapi configuration');
  return bridgeSettingsFrom(file, ini.bridge);
}
