// Kallithea's my.ini, read (never written) by the bridge, check, install and serve: where
// Kallithea listens ([server:main] host/port, where waitress under `gearbox serve -c my.ini`
// binds) and whether PasteDeploy's prefix filter is in front of the app (kallithea.md
// section 4). It is read as configparser reads it (ini-text.ts says why not with `ini`).
import { readIni, type IniSection } from './ini-text.js';
import { throwIfAny, type ConfigProblem } from './problems.js';

export interface KallitheaIni {
  readonly file: string;
  readonly sections: Record<string, IniSection>;
  readonly facts: KallitheaIniFacts;
  /** Origin Kallithea is reached at (http://host:port), or undefined with a problem saying why. */
  readonly upstream: string | undefined;
  readonly problems: ConfigProblem[];
}

export interface KallitheaIniFacts {
  host: string | undefined;
  port: number | undefined;
  /** The prefix filter's prefix ("/kallithea"), or undefined when there is no prefix filter. */
  prefix: string | undefined;
  /** How the filter was found, for messages ("[app:main] filter-with = proxy-prefix"). */
  prefixSource: string | undefined;
}

type Sections = Record<string, Record<string, unknown>>;

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value.trim() : undefined;
}

function isPrefixFilter(section: Record<string, unknown> | undefined): boolean {
  const use = text(section?.use)?.replace(/\s+/g, '');
  return use !== undefined && /^egg:PasteDeploy#prefix$/i.test(use);
}

/** Pure: the facts from an already parsed my.ini. */
export function kallitheaIniFacts(sections: Sections): KallitheaIniFacts {
  const server = sections['server:main'] ?? {};
  const host = text(server.host);
  const portText = text(server.port);
  const port = portText !== undefined && /^\d+$/.test(portText) ? Number(portText) : undefined;

  let prefix: string | undefined;
  let prefixSource: string | undefined;
  const filterWith = text(sections['app:main']?.['filter-with']);
  if (filterWith !== undefined && isPrefixFilter(sections[`filter:${filterWith}`])) {
    prefix = text(sections[`filter:${filterWith}`]?.prefix) ?? '';
    prefixSource = `[app:main] filter-with = ${filterWith}`;
  }
  const pipeline = text(sections['pipeline:main']?.pipeline);
  if (prefix === undefined && pipeline !== undefined) {
    for (const name of pipeline.split(/\s+/)) {
      if (isPrefixFilter(sections[`filter:${name}`])) {
        prefix = text(sections[`filter:${name}`]?.prefix) ?? '';
        prefixSource = `[pipeline:main] pipeline = ${pipeline}`;
        break;
      }
    }
  }
  return { host, port, prefix, prefixSource };
}

const DEFAULT_PORT = '5000';

/** A wildcard bind address (0.0.0.0, ::) is reached on loopback. */
function connectHost(host: string): string {
  if (host === '' || host === '0.0.0.0' || host === '*') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '[::1]';
  if (host.includes(':') && !host.startsWith('[')) return `[${host}]`;
  return host;
}

function upstreamOf(file: string, sections: Record<string, IniSection>, problems: ConfigProblem[]) {
  const server = sections['server:main'];
  if (server === undefined) {
    problems.push({
      file,
      key: '[server:main]',
      problem: 'the section is missing',
      fix: 'name the my.ini that `gearbox serve` uses, or set upstream in [bridge]',
    });
    return undefined;
  }
  const port = (server.port ?? DEFAULT_PORT).trim();
  if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
    problems.push({
      file,
      key: '[server:main] port',
      problem: `'${port}' is not a port`,
      fix: 'give a number from 1 to 65535',
    });
    return undefined;
  }
  return `http://${connectHost((server.host ?? '').trim())}:${port}`;
}

/**
 * Reads my.ini, collecting every problem (unreadable, syntax, no usable [server:main]).
 * `namedBy` says where its path came from (e.g. "[bridge] kallithea_config in ...").
 */
export async function readKallitheaIni(file: string, namedBy?: string): Promise<KallitheaIni> {
  const read = await readIni(file, 'configparser', "Kallithea's configuration", namedBy);
  const problems = [...read.problems];
  const upstream = read.text === undefined ? undefined : upstreamOf(file, read.sections, problems);
  return { file, sections: read.sections, facts: kallitheaIniFacts(read.sections), upstream, problems };
}

/** The origin Kallithea listens on according to my.ini; a ConfigError when there is none. */
export async function kallitheaUpstream(file: string, namedBy?: string): Promise<string> {
  const ini = await readKallitheaIni(file, namedBy);
  throwIfAny(ini.problems);
  return ini.upstream as string;
}

/**
 * Whether the prefix filter fits the virtual directory: Kallithea builds its links from
 * SCRIPT_NAME, which an HTTP hop cannot carry, so under /kallithea it needs the prefix filter
 * set to /kallithea, and at the root it must not have one. Returns undefined when it fits.
 */
export function prefixMismatch(
  facts: KallitheaIniFacts,
  virtualDir: string,
  myIni: string,
): string | undefined {
  const wanted = virtualDir === '/' ? undefined : virtualDir;
  const have =
    facts.prefix === undefined || facts.prefix === '' || facts.prefix === '/'
      ? undefined
      : facts.prefix.replace(/\/+$/, '');
  if (wanted === have) return undefined;
  if (wanted === undefined) {
    return (
      `${myIni} has a prefix filter (${facts.prefixSource}, prefix = ${facts.prefix}) but IIS serves Kallithea ` +
      "at the site root: remove 'filter-with' from [app:main], or install with --virtualdir " +
      `${facts.prefix}`
    );
  }
  if (have === undefined) {
    return (
      `${myIni} has no prefix filter, but IIS serves Kallithea under ${wanted}: its links would miss ` +
      `${wanted}. Add to [app:main]: filter-with = proxy-prefix, and a section\n` +
      `  [filter:proxy-prefix]\n  use = egg:PasteDeploy#prefix\n  prefix = ${wanted}\n  translate_forwarded_server = false`
    );
  }
  return `${myIni}: the prefix filter's prefix is ${have} but IIS serves Kallithea under ${wanted}: set prefix = ${wanted}`;
}
