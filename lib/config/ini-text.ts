// The one INI reader of kallithea-isapi, in two dialects, because each file has another reader
// it must agree with byte for byte, and the `ini` package (6.x) agrees with neither:
//
// - 'kallithea-isapi': kallithea-isapi.ini, also read by the DLL (native/isapi/config/
//   config.cpp). Whole-line `;`/`#` comments, `key = value`, a comment after the value only
//   when `;` or `#` follows a space or tab, no quoting, no escapes. `ini` instead ends a value
//   at any `;` or `#`, takes `\\` for `\` (so `pipe:\\.\pipe\name` and `\\server\share\my.ini`
//   lose a backslash the DLL keeps), strips quotes, turns `true` into a boolean and a line
//   without `=` into `key = true`, and keeps no line numbers for `check` to point at.
// - 'configparser': Kallithea's my.ini, read by Python's configparser through PasteDeploy.
//   `key = value` or `key: value`, option names in lower case, whole-line comments only (so
//   `use = egg:PasteDeploy#prefix` keeps its `#prefix`; `ini` cuts it and the prefix filter is
//   never found), indented lines continue the value before them, [DEFAULT] fills every
//   section. `%(here)s` interpolation is not done: host, port and prefix do not use it.
//
// Both collect every syntax problem with its line rather than stopping at the first.
import { readFile } from 'node:fs/promises';
import type { ConfigProblem } from './problems.js';

export type IniDialect = 'kallithea-isapi' | 'configparser';
export type IniSection = Record<string, string>;

export interface IniText {
  readonly sections: Record<string, IniSection>;
  readonly problems: ConfigProblem[];
}

interface Dialect {
  /** Where a `key = value` line splits. */
  delimiter: RegExp;
  /** Cuts an inline comment off a value. */
  cutComment: (value: string) => string;
  keyName: (key: string) => string;
  continuation: boolean;
  /** What to say to a key outside any section. */
  sectionFix: string;
}

const DIALECTS: Record<IniDialect, Dialect> = {
  'kallithea-isapi': {
    delimiter: /=/,
    cutComment: (value) => value.replace(/[ \t][;#].*$/, ''),
    keyName: (key) => key,
    continuation: false,
    sectionFix: 'put it under [isapi], [bridge] or [status]',
  },
  configparser: {
    delimiter: /[=:]/,
    cutComment: (value) => value,
    keyName: (key) => key.toLowerCase(),
    continuation: true,
    sectionFix: 'put it under the [section] it belongs to',
  },
};

export function parseIni(text: string, file: string, dialectName: IniDialect): IniText {
  const dialect = DIALECTS[dialectName];
  const sections: Record<string, IniSection> = {};
  const problems: ConfigProblem[] = [];
  let current: IniSection | undefined;
  let currentName = '';
  let last: { key: string; indent: number } | undefined;
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, index) => {
    const at = { file, line: index + 1 };
    const line = raw.trim();
    if (line === '' || line.startsWith(';') || line.startsWith('#')) return;
    const indent = raw.length - raw.trimStart().length;
    if (dialect.continuation && current !== undefined && last !== undefined && indent > last.indent) {
      current[last.key] = `${current[last.key] ?? ''}\n${line}`;
      return;
    }
    const header = /^\[(.+)\]\s*(?:[;#].*)?$/.exec(line);
    if (header) {
      currentName = (header[1] ?? '').trim();
      if (currentName in sections) {
        problems.push({ ...at, problem: `section [${currentName}] appears twice`, fix: 'merge them' });
      }
      current = sections[currentName] ??= {};
      last = undefined;
      return;
    }
    const delimiter = dialect.delimiter.exec(line);
    if (delimiter === null || delimiter.index === 0) {
      problems.push({
        ...at,
        problem: `${JSON.stringify(line)} is not 'key = value', a [section] or a ; comment`,
        fix: 'write it as key = value or remove it',
      });
      return;
    }
    const key = dialect.keyName(line.slice(0, delimiter.index).trim());
    const value = dialect.cutComment(line.slice(delimiter.index + 1).trim()).trim();
    if (current === undefined) {
      problems.push({ ...at, problem: `${key} comes before any [section]`, fix: dialect.sectionFix });
      return;
    }
    if (key in current) {
      problems.push({ ...at, problem: `[${currentName}] ${key} is given twice`, fix: 'keep one' });
    }
    current[key] = value;
    last = { key, indent };
  });
  const defaults = sections.DEFAULT;
  if (dialectName === 'configparser' && defaults !== undefined) {
    for (const [name, section] of Object.entries(sections)) {
      if (name !== 'DEFAULT') sections[name] = { ...defaults, ...section };
    }
  }
  return { sections, problems };
}

/**
 * Reads and parses `file`. A missing or unreadable file is a problem too (and then there are no
 * sections); `namedBy` says where its path came from, for the fix.
 */
export async function readIni(
  file: string,
  dialect: IniDialect,
  whatFor: string,
  namedBy?: string,
): Promise<IniText & { text: string | undefined }> {
  try {
    const text = await readFile(file, 'utf8');
    return { ...parseIni(text, file, dialect), text };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    const fix = 'check that the path is right and readable';
    return {
      sections: {},
      text: undefined,
      problems: [
        {
          file,
          problem: `cannot read ${whatFor} (${code})`,
          fix: namedBy === undefined ? fix : `${fix} (${namedBy} names it)`,
        },
      ],
    };
  }
}
