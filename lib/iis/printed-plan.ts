// A registration plan as a cmd.exe script: what --dry-run prints and what install prints on a
// machine that is not Windows. Each step is preceded by a `rem` line saying why (one for a run
// of steps with the same purpose); guarded steps and removals are written so that the script,
// pasted into an elevated prompt, does the same as `kallithea-isapi install` would. 'record'
// steps are left out: a pasted script keeps no state for uninstall.
import { toWindowsCommandLine } from './command-line.js';
import type { PlanStep } from './registration-plan.js';
import { type Programs, stepCommandLine } from './run-plan.js';

export function printedPlan(steps: readonly PlanStep[], programs: Programs): string[] {
  const lines: string[] = [];
  let lastPurpose = '';
  for (const step of steps) {
    if (step.kind === 'record') continue;
    if (step.purpose !== lastPurpose) lines.push(`rem ${step.purpose}`);
    lastPurpose = step.purpose;
    const line = stepCommandLine(step, programs);
    if (step.kind === 'create' && step.guard !== undefined) {
      const guard = toWindowsCommandLine(programs.appcmd, step.guard);
      // A value guard: findstr /x matches the whole printed line, so the set runs only when the
      // value in effect is another one.
      const check =
        step.guardOutput === undefined
          ? `${guard} >nul 2>&1`
          : `${guard} 2>nul | ${toWindowsCommandLine('findstr', ['/x', `/c:${step.guardOutput}`])} >nul`;
      lines.push(`${check} || ${line}`);
    } else if (step.kind === 'remove-if-present') {
      lines.push(`${line} >nul 2>&1`);
    } else {
      lines.push(line);
    }
  }
  return lines;
}
