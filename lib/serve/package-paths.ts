// Where this package's own files are, for serve: the CLI script the DLL starts as the bridge
// (spawn mode), the ISAPI extension built for this platform, and the emulated Windows users.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: this file is dist/lib/serve/package-paths.js. */
export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** bin/kallithea-isapi.js, which the DLL runs as `<node> <script> bridge ...`. */
export const bridgeScript = join(packageRoot, 'bin', 'kallithea-isapi.js');

/** The extension `npm run build:dll` builds for this platform (a .so stands in for the DLL). */
export function defaultExtension(): string {
  const name = process.platform === 'win32' ? 'kallithea_isapi.dll' : 'kallithea_isapi.so';
  return join(packageRoot, 'build-dll', 'Release', name);
}

/** The emulated Windows users that come with the local Kallithea instance, if present. */
export function defaultUsersFile(): string | undefined {
  const file = join(packageRoot, 'scripts', 'kallithea', 'windows-users.txt');
  return existsSync(file) ? file : undefined;
}
