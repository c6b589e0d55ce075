// What install and check need to know from Kallithea's my.ini: where Kallithea listens
// ([server:main] host/port) and whether PasteDeploy's prefix filter is in front of the app
// (kallithea.md section 4). Read only, never written.
import { readFile } from 'node:fs/promises';

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

/**
 * Reads my.ini the way Python's configparser (through PasteDeploy) does: `key = value` or
 * `key: value`, option names in lower case, whole-line `#`/`;` comments only, indented lines
 * continuing the previous value. The `ini` package would cut `use = egg:PasteDeploy#prefix` at
 * the `#`, as it takes inline comments, and so miss the prefix filter.
 */
export function parseConfigParserIni(text: string): Sections {
  const sections: Record<string, Record<string, string>> = {};
  let current: Record<string, string> | undefined;
  let lastKey: string | undefined;
  for (const raw of text.replace(/^\uFEFF/, '').split(/\r?\n/)) {
    if (raw.trim() === '' || /^\s*[#;]/.test(raw)) continue;
    if (/^\s/.test(raw) && current !== undefined && lastKey !== undefined) {
      current[lastKey] = `${current[lastKey] ?? ''}\n${raw.trim()}`;
      continue;
    }
    const section = /^\[([^\]]+)\]/.exec(raw);
    if (section) {
      current = sections[(section[1] ?? '').trim()] ??= {};
      lastKey = undefined;
      continue;
    }
    const separator = /[=:]/.exec(raw);
    if (separator === null || current === undefined) {
      throw new Error(`line ${JSON.stringify(raw)} is not 'key = value' inside a [section]`);
    }
    lastKey = raw.slice(0, separator.index).trim().toLowerCase();
    current[lastKey] = raw.slice(separator.index + 1).trim();
  }
  return sections;
}

export async function readKallitheaIni(path: string): Promise<KallitheaIniFacts> {
  return kallitheaIniFacts(parseConfigParserIni(await readFile(path, 'utf8')));
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
