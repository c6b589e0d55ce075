// What `install` found and made in IIS, kept beside kallithea-isapi.ini in
// kallithea-isapi.iis-state.json, so that `uninstall` removes exactly that: the application pool
// and the application only if install created them, and every value install changed put back
// to what it was. A second install merges into it and never overwrites an earlier record (the
// values it finds then are install's own). Written only when install ran the plan itself: a
// printed plan pasted into cmd.exe leaves no state, and uninstall then leaves pool and
// application alone.
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { PlanOutcome } from './run-plan.js';

export const STATE_FILE = 'kallithea-isapi.iis-state.json';

export interface InstallState {
  version: 1;
  site: string;
  virtualDir: string;
  pool: string;
  dllPath: string;
  created: { pool: boolean; app: boolean };
  /** Values read before the first install changed them (null: there was none). */
  previous: Record<string, string | null>;
}

export type Registration = Pick<InstallState, 'site' | 'virtualDir' | 'pool' | 'dllPath'>;

export function statePath(iniDir: string): string {
  return path.join(iniDir, STATE_FILE);
}

export async function readInstallState(iniDir: string): Promise<InstallState | undefined> {
  let text: string;
  try {
    text = await readFile(statePath(iniDir), 'utf8');
  } catch {
    return undefined;
  }
  const state = JSON.parse(text) as InstallState;
  if (state.version !== 1) throw new Error(`${statePath(iniDir)}: unknown version ${String(state.version)}`);
  return state;
}

/** The state after one install run: the earlier state's records win over this run's. */
export function mergeInstallState(
  earlier: InstallState | undefined,
  registration: Registration,
  outcome: Pick<PlanOutcome, 'created' | 'recorded'>,
): InstallState {
  const same =
    earlier !== undefined &&
    earlier.site === registration.site &&
    earlier.virtualDir === registration.virtualDir &&
    earlier.pool === registration.pool;
  const base = same ? earlier : undefined;
  return {
    version: 1,
    ...registration,
    created: {
      pool: (base?.created.pool ?? false) || outcome.created.includes('pool'),
      app: (base?.created.app ?? false) || outcome.created.includes('app'),
    },
    previous: { ...outcome.recorded, ...base?.previous },
  };
}

export async function writeInstallState(iniDir: string, state: InstallState): Promise<void> {
  await writeFile(statePath(iniDir), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o644 });
}

export async function removeInstallState(iniDir: string): Promise<void> {
  await rm(statePath(iniDir), { force: true });
}

/** After install ran its plan: merge what it found and made into the state beside the ini. */
export async function recordInstall(
  iniDir: string,
  registration: Registration,
  outcome: Pick<PlanOutcome, 'created' | 'recorded'>,
): Promise<void> {
  const earlier = await readInstallState(iniDir).catch(() => undefined);
  const { site, virtualDir, pool, dllPath } = registration;
  await writeInstallState(iniDir, mergeInstallState(earlier, { site, virtualDir, pool, dllPath }, outcome));
}
