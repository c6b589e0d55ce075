// The Windows login prompt in front of isapi-host, for serve. isapi-host emulates IIS with
// Windows and anonymous authentication both enabled: a users-file login becomes CORP\user,
// anything else passes anonymously with its Authorization header intact (hg and git send
// Kallithea accounts that way). Such a host never challenges, so a browser would never send
// a Windows login, and Kallithea would show its own form. serve therefore answers a request
// that carries no credentials at all with 401 and a Basic challenge, the way IIS answers when
// anonymous access is off. Credentials, whoever they belong to, go on to the host. The status
// page is left alone: it has its own rule (the local machine, or listed Windows users), and
// what reads it from this machine (kallithea-isapi status, a Prometheus scrape) sends no
// credentials, as it need not on IIS with anonymous access on.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { STATUS_PATH } from '../bridge/status/status-path.js';

export const LOGIN_REALM = 'Windows login (kallithea-isapi serve)';

/** Whether a request target lies inside the IIS application (compared as IIS does, case-blind). */
export function insideVirtualDir(target: string, virtualDir: string): boolean {
  if (virtualDir === '/') return true;
  let path = target.split('?')[0] ?? '';
  try {
    path = decodeURIComponent(path);
  } catch {
    // compared raw
  }
  const lower = path.toLowerCase();
  const prefix = virtualDir.toLowerCase();
  return lower === prefix || lower.startsWith(`${prefix}/`);
}

/**
 * Answers 401 and returns true when a request for the application has no Authorization
 * header. Requests outside the virtual directory are left to the host (its 404).
 */
export function promptForLogin(req: IncomingMessage, res: ServerResponse, virtualDir: string): boolean {
  if (req.headers.authorization !== undefined) return false;
  if (!insideVirtualDir(req.url ?? '/', virtualDir)) return false;
  const path = (req.url ?? '/').split('?')[0] ?? '';
  if (path.toLowerCase() === `${virtualDir === '/' ? '' : virtualDir.toLowerCase()}${STATUS_PATH}`)
    return false;
  const body = 'Log in with a Windows account (emulated), or give hg/git a Kallithea account.\n';
  res.writeHead(401, {
    'WWW-Authenticate': `Basic realm="${LOGIN_REALM}"`,
    'Content-Type': 'text/plain',
    'Content-Length': String(Buffer.byteLength(body)),
    Server: 'Microsoft-IIS/10.0',
  });
  res.end(body);
  return true;
}
