// The settings Kallithea keeps in its database, applied by python/configure_kallithea.py run
// with the Python of Kallithea's virtualenv: it loads my.ini and the database session as
// kallithea-cli does and changes them only through Kallithea's models, the calls its admin
// pages make. Nothing here touches the database itself.
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { packageRoot } from '../serve/package-paths.js';

/** python/configure_kallithea.py of this package. */
export const configureScript = join(packageRoot, 'python', 'configure_kallithea.py');

export interface KallitheaSetting {
  /** What the administrator would call it ("anonymous access off"). */
  readonly name: string;
  /** Whether the run changed it (with --dry-run: would change it). */
  readonly changed: boolean;
  /** Where it lives and its value (never a secret). */
  readonly detail: string;
}

export interface DatabaseSettings {
  /** The database, without its password. */
  readonly database: string;
  readonly settings: KallitheaSetting[];
}

export class KallitheaScriptError extends Error {
  readonly code = 'ERR_CONFIGURE_KALLITHEA';
}

/** Loading Kallithea takes seconds; a database locked by a long request may add some. */
const TIMEOUT_MS = 300_000;

export function applyDatabaseSettings(
  python: string,
  myIni: string,
  userHeaderKey: string,
  dryRun: boolean,
): Promise<DatabaseSettings> {
  const args = [
    configureScript,
    '-c',
    myIni,
    '--header-key',
    userHeaderKey,
    ...(dryRun ? ['--dry-run'] : []),
  ];
  return new Promise((done, fail) => {
    execFile(
      python,
      args,
      { cwd: dirname(myIni), timeout: TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024, windowsHide: true },
      (error, stdout, stderr) => {
        const result = /^RESULT (.*)$/m.exec(stdout);
        if (error !== null || result === null) {
          const tail = `${stdout}\n${stderr}`.trim().split(/\r?\n/).slice(-15).join('\n');
          fail(
            new KallitheaScriptError(
              `${python} ${configureScript} failed (${error?.message.split('\n')[0] ?? 'no result'}):\n${tail}`,
            ),
          );
          return;
        }
        done(JSON.parse(result[1] as string) as DatabaseSettings);
      },
    );
  });
}
