// The [status] section of kallithea-isapi.ini: who may see the status page besides the local
// machine. Read by the bridge (which serves the page) and by `check`; the DLL skips it.
//
//   [status]
//   users = CORP\alice, CORP\bob
//
// Names are Windows accounts as IIS reports the authenticated user (REMOTE_USER), compared
// without regard to case, as Windows compares account names. Nothing else is in the section:
// the page shows no secret, so there is nothing to configure about what it shows.
import type { IniSection } from './ini-text.js';
import type { ConfigProblem } from './problems.js';

export interface StatusSettings {
  /** Windows users (DOMAIN\name, name@domain or name) who may see the page from anywhere. */
  readonly users: readonly string[];
}

export const statusDefaults: StatusSettings = { users: [] };

/** A Windows account name as IIS reports it: no control characters, commas or spaces at the ends. */
// eslint-disable-next-line no-control-regex -- control characters are what is refused
const ACCOUNT = /^[^\s,\x00-\x1f\x7f](?:[^,\x00-\x1f\x7f]*[^\s,\x00-\x1f\x7f])?$/;

export function checkStatusSection(
  file: string,
  section: IniSection | undefined,
): { settings: StatusSettings; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  let users: string[] = [];
  for (const [name, raw] of Object.entries(section ?? {})) {
    if (name !== 'users') {
      problems.push({
        file,
        key: `[status] ${name}`,
        problem: 'unknown key',
        fix: 'the [status] key is users',
      });
      continue;
    }
    const listed = raw.split(',').map((user) => user.trim());
    const bad = listed.filter((user) => !ACCOUNT.test(user));
    if (raw.trim() !== '' && bad.length > 0) {
      problems.push({
        file,
        key: '[status] users',
        problem: `bad value ${JSON.stringify(raw)}`,
        fix: 'give Windows users separated by commas, e.g. CORP\\alice, CORP\\bob (or leave it empty: local machine only)',
      });
      continue;
    }
    users = raw.trim() === '' ? [] : listed;
  }
  return { settings: { users }, problems };
}
