// configure-kallithea: the Kallithea settings the bridge relies on, applied instead of printed
// as steps (shared by `configure-kallithea` and `install --configure-kallithea`):
//   - in Kallithea's database, through its own code (kallithea-database.ts): the container
//     plugin on, reading the bridge's secret user header and nothing else, Clean username,
//     anonymous access off, external accounts activated automatically;
//   - in kallithea-isapi.ini: [bridge] user_header, the secret header name (user-header.ts),
//     made once and kept, or made anew with rotateUserHeader;
//   - in my.ini: the prefix filter a virtual directory needs (prefix-filter.ts), after a
//     backup of my.ini.
// Every setting is reported as changed (or "would change" in a dry run) or already set, so a
// second run shows that nothing was left to do. Secrets never appear in the report.
import { constants } from 'node:fs';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { parseIni } from '../config/ini-text.js';
import { applyDatabaseSettings } from './kallithea-database.js';
import { type FileChange, prefixFilterChange } from './prefix-filter.js';
import { applyEdits, splitLines, unifiedDiff } from './text-edits.js';
import { environKey, isSecretHeader, newSecretHeader, userHeaderChange } from './user-header.js';

export interface ConfigureOptions {
  /** Absolute path of Kallithea's my.ini. */
  readonly myIni: string;
  /** The Python of Kallithea's virtualenv. */
  readonly python: string;
  /** kallithea-isapi.ini; `text` when it is not written yet (install --dry-run). */
  readonly isapiIni: { readonly file: string; readonly text?: string };
  /** Where IIS serves Kallithea: '/' or '/kallithea'. */
  readonly virtualDir: string;
  readonly rotateUserHeader: boolean;
  readonly dryRun: boolean;
  /** For the backup's name. */
  readonly now: Date;
}

export interface ConfigureOutcome {
  readonly lines: string[];
  /** Whether anything was (or in a dry run, would be) changed. */
  readonly changed: boolean;
  /** Settings the command could not make: the administrator has to. */
  readonly manual: number;
  /** Whether the bridge must restart to read a changed file or header. */
  readonly restartBridge: boolean;
}

const COLUMN = 14;

function row(status: string, name: string, detail: string): string {
  return `  ${status.padEnd(COLUMN)}${name}: ${detail}`;
}

/** A row's first column: 'manual' is left to the administrator. */
function statusWord(outcome: boolean | 'manual', dryRun: boolean): string {
  if (outcome === 'manual') return 'to do';
  if (!outcome) return 'already set';
  return dryRun ? 'would change' : 'changed';
}

function fileOutcome(change: FileChange): boolean | 'manual' {
  return change.status === 'manual' ? 'manual' : change.status === 'change';
}

/** my.ini.20261202T093000Z.bak beside my.ini; never overwrites an older backup. */
function backupName(myIni: string, now: Date): string {
  return `${myIni}.${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '')}.bak`;
}

export async function configureKallithea(options: ConfigureOptions): Promise<ConfigureOutcome> {
  const { dryRun } = options;
  const isapiText = options.isapiIni.text ?? (await readFile(options.isapiIni.file, 'utf8'));
  const current = parseIni(
    isapiText,
    options.isapiIni.file,
    'kallithea-isapi',
  ).sections.bridge?.user_header?.trim();
  const header =
    !options.rotateUserHeader && current !== undefined && isSecretHeader(current)
      ? current
      : newSecretHeader();

  const database = await applyDatabaseSettings(options.python, options.myIni, environKey(header), dryRun);
  const lines = [`Kallithea's settings (database ${database.database}):`];
  let changed = false;
  for (const setting of database.settings) {
    lines.push(row(statusWord(setting.changed, dryRun), setting.name, setting.detail));
    changed ||= setting.changed;
  }

  // my.ini: the prefix filter, after a backup.
  const myIniText = splitLines(await readFile(options.myIni, 'utf8'));
  const prefix = prefixFilterChange(myIniText, options.myIni, options.virtualDir);
  let prefixDetail = `${prefix.detail} (${options.myIni})`;
  const diff: string[] = [];
  if (prefix.status === 'change') {
    diff.push(
      '',
      dryRun ? `The change to ${options.myIni} would be:` : `Changed ${options.myIni}:`,
      ...unifiedDiff(myIniText, prefix.edits, options.myIni),
    );
    if (!dryRun) {
      const backup = backupName(options.myIni, options.now);
      await copyFile(options.myIni, backup, constants.COPYFILE_EXCL);
      await writeFile(options.myIni, applyEdits(myIniText, prefix.edits));
      prefixDetail += `; backup: ${backup}`;
    }
  }
  lines.push(row(statusWord(fileOutcome(prefix), dryRun), 'prefix filter', prefixDetail));

  // kallithea-isapi.ini: the header the bridge sends, after Kallithea was told of it.
  const isapiLines = splitLines(isapiText);
  const userHeader = userHeaderChange(isapiLines, header, current);
  if (userHeader.status === 'change' && !dryRun) {
    await writeFile(options.isapiIni.file, applyEdits(isapiLines, userHeader.edits));
  }
  lines.push(
    row(
      statusWord(fileOutcome(userHeader), dryRun),
      "bridge's user header",
      `${userHeader.detail} (${options.isapiIni.file})`,
    ),
    ...diff,
  );
  const changedFile = prefix.status === 'change' || userHeader.status === 'change';
  return {
    lines,
    changed: changed || changedFile,
    manual: prefix.status === 'manual' ? 1 : 0,
    restartBridge: !dryRun && changedFile,
  };
}
