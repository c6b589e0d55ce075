// The lifeline: when the DLL spawns the bridge it passes the read end of a pipe as fd 3,
// named by KALLITHEA_ISAPI_LIFELINE_FD, and keeps the write end. On POSIX fd 3 is the
// inherited descriptor; on Windows the DLL hands the pipe handle over in the C runtime's
// inheritance block (STARTUPINFO lpReserved2, as libuv passes a child's stdio), so node.exe
// has it as fd 3 too. Nothing is ever written; when the DLL closes its end (a graceful stop)
// or its process dies, our read sees EOF, so the bridge never outlives the worker process.
import { Socket } from 'node:net';

export const LIFELINE_ENV = 'KALLITHEA_ISAPI_LIFELINE_FD';

/** Parses the env value: a file descriptor number above 2, or undefined when unset. */
export function lifelineFd(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 3) {
    throw new Error(`${LIFELINE_ENV}='${value}' is not a file descriptor above 2`);
  }
  return Number(value);
}

/** Calls `onCut` once when the lifeline reads EOF or fails. Returns a function to stop watching. */
export function watchLifeline(fd: number, onCut: (why: string) => void): () => void {
  const socket = new Socket({ fd, readable: true, writable: false });
  let fired = false;
  const cut = (why: string): void => {
    if (fired) return;
    fired = true;
    onCut(why);
  };
  socket.on('data', () => undefined); // nothing is expected; keep reading until EOF
  socket.on('end', () => cut('lifeline closed: the process that started the bridge is gone'));
  socket.on('error', (error) => cut(`lifeline failed: ${error.message}`));
  // The lifeline alone must not keep the bridge alive.
  socket.unref();
  return () => {
    fired = true;
    socket.destroy();
  };
}
