// Emulation of IIS authentication in front of the extension. IIS with Windows
// authentication gives AUTH_TYPE "Negotiate" and DOMAIN\user; here Basic credentials
// checked against a users file (`user:password` lines) stand in for the Windows logon.
//
// anonymousFallback = IIS with both Windows and anonymous authentication enabled: a
// request without valid credentials passes anonymously (empty AUTH_USER) with its
// Authorization header untouched. Needed for hg and git, whose Basic credentials are
// meant for Kallithea, not for IIS.
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';

export interface AuthOptions {
  /** 'anonymous' (default) or 'basic' against usersFile / users. */
  mode: 'anonymous' | 'basic';
  usersFile?: string;
  users?: Record<string, string>;
  /** Windows domain shown in AUTH_USER (DOMAIN\user). */
  domain?: string;
  realm?: string;
  anonymousFallback?: boolean;
}

export interface AuthResult {
  authType: string;
  authUser: string;
}

export type AuthDecision = { ok: true; result: AuthResult } | { ok: false; challenge: string };

const anonymous: AuthResult = { authType: '', authUser: '' };

export function readUsersFile(path: string): Record<string, string> {
  const users: Record<string, string> = {};
  for (const raw of readFileSync(path, 'utf8').split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`${path}: a line is not 'user:password': ${line}`);
    users[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return users;
}

export class Authenticator {
  readonly #mode: AuthOptions['mode'];
  readonly #users: Record<string, string>;
  readonly #domain: string;
  readonly #realm: string;
  readonly #fallback: boolean;

  constructor(options: AuthOptions | undefined) {
    this.#mode = options?.mode ?? 'anonymous';
    this.#users = { ...(options?.users ?? {}) };
    if (options?.usersFile !== undefined) Object.assign(this.#users, readUsersFile(options.usersFile));
    this.#domain = options?.domain ?? 'CORP';
    this.#realm = options?.realm ?? 'kallithea-isapi';
    this.#fallback = options?.anonymousFallback ?? false;
  }

  authenticate(req: IncomingMessage): AuthDecision {
    if (this.#mode === 'anonymous') return { ok: true, result: anonymous };
    const header = req.headers.authorization ?? '';
    const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    if (match !== null) {
      const decoded = Buffer.from(match[1] ?? '', 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const user = decoded.slice(0, colon);
      if (colon > 0 && Object.hasOwn(this.#users, user) && this.#users[user] === decoded.slice(colon + 1)) {
        return { ok: true, result: { authType: 'Negotiate', authUser: `${this.#domain}\\${user}` } };
      }
    }
    if (this.#fallback) return { ok: true, result: anonymous };
    return { ok: false, challenge: `Basic realm="${this.#realm}"` };
  }
}
