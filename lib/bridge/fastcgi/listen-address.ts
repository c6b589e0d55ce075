// Where the responder listens. The grammar (parseListenAddress, formatListenAddress) is
// lib/config/listen-address.ts, the one `check` validates with; server.ts calls
// prepareUnixSocketPath() before binding and formatListenAddress() to report the address it
// actually bound (a tcp port 0 becomes the real port).
import { lstat, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { ListenAddressError } from '../errors.js';

export { formatListenAddress, parseListenAddress, type ListenAddress } from '../../config/listen-address.js';

/**
 * Makes a Unix socket path free to bind: a stale socket file (nobody accepts on it) is
 * removed; a live one, or a file that is not a socket, is refused.
 */
export async function prepareUnixSocketPath(path: string): Promise<void> {
  let stats;
  try {
    stats = await lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (!stats.isSocket()) {
    throw new ListenAddressError(
      `unix:${path}`,
      'the path exists and is not a socket; remove it or pick another',
    );
  }
  if (await somebodyListens(path)) {
    throw new ListenAddressError(`unix:${path}`, 'another process is listening on this socket');
  }
  await unlink(path);
}

function somebodyListens(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}
