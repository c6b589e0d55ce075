// Where things are in an INI text, by line, so that configure-kallithea can change one key or
// add one section and leave every other byte alone (configparser would rewrite my.ini without
// its comments). Reading values stays with lib/config/ini-text.ts; this only finds lines, with
// the same rules: whole-line `;`/`#` comments, `[section]` headers, `key = value` (my.ini also
// `key: value`, names in lower case), and for my.ini indented lines continuing a value.
import type { IniDialect } from '../config/ini-text.js';

export interface SectionLines {
  /** Line of the `[name]` header. */
  readonly header: number;
  /** The last line that belongs to the section (a key or its continuation), or the header. */
  last: number;
  /** Key -> the line it is set on. */
  readonly keys: Map<string, number>;
}

export function sectionLines(lines: readonly string[], dialect: IniDialect): Map<string, SectionLines> {
  const sections = new Map<string, SectionLines>();
  let current: SectionLines | undefined;
  let keyIndent = -1;
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith(';') || line.startsWith('#')) return;
    const indent = raw.length - raw.trimStart().length;
    if (dialect === 'configparser' && current !== undefined && keyIndent >= 0 && indent > keyIndent) {
      current.last = index;
      return;
    }
    const header = /^\[(.+)\]\s*(?:[;#].*)?$/.exec(line);
    if (header !== null) {
      const name = (header[1] ?? '').trim();
      current = sections.get(name) ?? { header: index, last: index, keys: new Map() };
      sections.set(name, current);
      keyIndent = -1;
      return;
    }
    const delimiter = (dialect === 'configparser' ? /[=:]/ : /=/).exec(line);
    if (current === undefined || delimiter === null || delimiter.index === 0) return;
    const key = line.slice(0, delimiter.index).trim();
    current.keys.set(dialect === 'configparser' ? key.toLowerCase() : key, index);
    current.last = index;
    keyIndent = indent;
  });
  return sections;
}
