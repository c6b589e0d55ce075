// A worker serving a long hg/git stream runs at a lower OS priority than the workers serving
// pages, while pages are in flight. On a machine with fewer cores than streams, a clone (hg
// compressing its bundle in the worker, git's pack-objects started by it) otherwise takes the
// CPU a page needs: pages waited 1.6 x their idle time while two clones ran on 2 cores,
// though no page waited for a worker. A stream's length is minutes and its client hardly
// notices a slower CPU share while a page runs; a page's user does. The router says when the
// first page starts (before it goes out) and when the last one ends (router.ts); with no page
// in flight the stream runs at normal priority, since a clone kept low all along lost a third
// of its speed to the host, the bridge and anything else on the machine.
// An extra worker, started because streams hold the others, loads Kallithea (seconds of CPU)
// below normal priority too, and is raised once ready.
//
// Linux sets a priority per thread (setpriority's PRIO_PROCESS names one thread), and
// waitress serves on a thread of its own: so every thread in /proc/<pid>/task is set.
// Windows sets a priority class per process, inherited by the processes it starts while
// below normal (a git started before the lowering stays at normal there; on Linux the
// session's value below covers it). Raising it back needs CAP_SYS_NICE on Linux (root has
// it; an application pool's identity on Windows needs nothing): without it the worker stays
// low and the router gives pages to other workers first (router.ts).
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { constants, setPriority } from 'node:os';

/** How much lower (in nice steps) a stream's worker runs than the bridge's own priority. */
const STREAM_NICE_STEPS = constants.priority.PRIORITY_BELOW_NORMAL - constants.priority.PRIORITY_NORMAL;
const LOWEST = constants.priority.PRIORITY_LOW;

/** The ids setpriority takes for all of a process: its threads on Linux, else the process. */
function prioritiesOf(pid: number): number[] {
  if (process.platform !== 'linux') return [pid];
  try {
    return readdirSync(`/proc/${pid}/task`).map(Number);
  } catch {
    return []; // gone: nothing to set
  }
}

/**
 * What a lowered worker is raised back to. Its threads inherited the bridge's priority. Its
 * session's autogroup value did not: a new session starts at 0 whatever its leader's nice
 * value, so a bridge started under `nice` must not push its own value onto the session.
 */
export interface NormalPriority {
  readonly threads: number;
  /** The session's autogroup value before the first lowering; null without autogroup. */
  readonly session: number | null;
}

/**
 * Linux with autogroup (kernel.sched_autogroup_enabled, Debian's default) shares the CPU
 * between sessions first, and a thread's nice value counts only within its session. Each
 * worker leads a session of its own (worker-process.ts), with the git processes it starts:
 * so the session's nice value is what ranks a stream's worker against the page's.
 */
export function sessionPriority(pid: number): number | null {
  if (process.platform !== 'linux') return null;
  try {
    // "/autogroup-123 nice 0"
    const nice = /nice (-?\d+)/.exec(readFileSync(`/proc/${pid}/autogroup`, 'utf8'));
    return nice ? Number(nice[1]) : null;
  } catch {
    return null; // no autogroup in this kernel, or the process has ended
  }
}

function setSession(pid: number, priority: number | null): boolean {
  if (priority === null) return true;
  try {
    writeFileSync(`/proc/${pid}/autogroup`, String(priority));
    return true;
  } catch (error) {
    // The process has ended (or autogroup went away): nothing to set.
    return ['ENOENT', 'ESRCH'].includes((error as NodeJS.ErrnoException).code ?? '');
  }
}

/** Sets the session's and every thread's priority; false if any refused (a thread that ended is fine). */
function setAll(pid: number, priority: NormalPriority): boolean {
  let ok = setSession(pid, priority.session);
  for (const id of prioritiesOf(pid)) {
    try {
      setPriority(id, priority.threads);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') ok = false;
    }
  }
  return ok;
}

const lowered = (value: number): number => Math.min(LOWEST, value + STREAM_NICE_STEPS);

/** Lowers a worker below `normal`; false if the system refused. */
export function lowerPriority(pid: number, normal: NormalPriority): boolean {
  const session = normal.session === null ? null : lowered(normal.session);
  return setAll(pid, { threads: lowered(normal.threads), session });
}

/** Raises a worker back to `normal`; false if the system refused (no CAP_SYS_NICE). */
export function restorePriority(pid: number, normal: NormalPriority): boolean {
  return setAll(pid, normal);
}
