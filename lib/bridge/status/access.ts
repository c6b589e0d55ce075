// Who may see the status page: a request from the local machine (REMOTE_ADDR is a loopback
// address), or a Windows user listed in [status] users, from anywhere. The user is the one
// IIS authenticated (REMOTE_USER, else AUTH_USER: server variables the client cannot set);
// a header naming a user counts for nothing. Everyone else gets 403.
import { isIP } from 'node:net';
import type { Environ } from '../environ/environ.js';

/** 127.0.0.0/8, ::1, and IPv4 loopback written as an IPv6-mapped address (::ffff:127.0.0.1). */
export function isLoopback(address: string): boolean {
  const bare = address.trim().replace(/^\[|\]$/g, '');
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) !== 6) return false;
  // The URL parser writes an IPv6 address one way: [::1], [::ffff:7f00:1].
  const canonical = new URL(`http://[${bare}]/`).hostname;
  if (canonical === '[::1]') return true;
  const mapped = /^\[::ffff:([0-9a-f]{1,4}):[0-9a-f]{1,4}\]$/.exec(canonical);
  return mapped !== null && parseInt(mapped[1] ?? '0', 16) >> 8 === 127;
}

export type StatusAccess = { allowed: true; why: string } | { allowed: false; why: string };

export function statusAccess(environ: Environ, users: readonly string[]): StatusAccess {
  if (isLoopback(environ.REMOTE_ADDR)) return { allowed: true, why: 'local machine' };
  const user = environ.REMOTE_USER || environ.AUTH_USER;
  if (user !== '' && users.some((listed) => listed.toLowerCase() === user.toLowerCase())) {
    return { allowed: true, why: `listed user ${user}` };
  }
  return {
    allowed: false,
    why:
      user === ''
        ? `anonymous request from ${environ.REMOTE_ADDR || 'an unknown address'}`
        : `user ${user} is not in [status] users`,
  };
}
