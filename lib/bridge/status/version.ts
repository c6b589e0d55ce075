// This package's version, for the status page: the one number package.json gives, which the
// DLL is built with too (CMakeLists.txt reads the same file).
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** This file is dist/lib/bridge/status/version.js: the package root is four folders up. */
const packageJson = join(
  resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..'),
  'package.json',
);

function readVersion(): string {
  try {
    const { version } = JSON.parse(readFileSync(packageJson, 'utf8')) as { version?: unknown };
    return typeof version === 'string' ? version : 'unknown';
  } catch {
    return 'unknown';
  }
}

export const packageVersion = readVersion();
