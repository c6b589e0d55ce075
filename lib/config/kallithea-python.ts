// Kallithea's Python, which runs the bridge's workers: the python of its virtualenv. Looked
// for where Kallithea's own set-up puts it: a venv folder beside my.ini, or beside the
// kallithea-cli that config-create recorded in my.ini (kallithea_cli_path).
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const exe = process.platform === 'win32' ? 'python.exe' : 'python';
const venvBin = process.platform === 'win32' ? 'Scripts' : 'bin';

/** Where to look, in order: --venv if given, else beside my.ini, else beside kallithea-cli. */
export function kallitheaPythonCandidates(config: string, venv?: string, cliPath?: string): string[] {
  if (venv !== undefined) return [join(resolve(venv), venvBin, exe)];
  const candidates = [join(dirname(resolve(config)), 'venv', venvBin, exe)];
  if (cliPath !== undefined) candidates.push(join(dirname(cliPath), exe));
  return candidates;
}

export function findKallitheaPython(config: string, venv?: string, cliPath?: string): string | undefined {
  return kallitheaPythonCandidates(config, venv, cliPath).find((candidate) => existsSync(candidate));
}
