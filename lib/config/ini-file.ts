// Reads an INI file with the `ini` package, turning a missing or unreadable file into a
// ConfigError that says which file and what to do.
import { readFile } from 'node:fs/promises';
import { parse } from 'ini';
import { ConfigError } from '../bridge/errors.js';

export type IniSection = Record<string, string>;
export type IniFile = Record<string, IniSection>;

/** Values as text: `ini` reads `true`/`false` as booleans and `key[]` as arrays. */
function asText(value: unknown): string {
  return Array.isArray(value) ? value.map(String).join(',') : String(value);
}

export async function readIniFile(file: string, whatFor: string): Promise<IniFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new ConfigError(
      file,
      undefined,
      `cannot read ${whatFor} (${code})`,
      'check that the path is right and readable',
    );
  }
  const parsed = parse(text) as Record<string, unknown>;
  const result: IniFile = {};
  for (const [name, section] of Object.entries(parsed)) {
    if (typeof section !== 'object' || section === null || Array.isArray(section)) continue;
    const values: IniSection = {};
    for (const [key, value] of Object.entries(section)) values[key] = asText(value);
    result[name] = values;
  }
  return result;
}
