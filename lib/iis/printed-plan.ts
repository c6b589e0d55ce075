// A registration plan as a cmd.exe script: what --dry-run prints and what install prints on a
// machine that is not Windows. Each step is preceded by a `rem` line saying why; guarded steps
// and removals are written so that the script, pasted into an elevated prompt, does the same
// as `kallithea-isapi install` would.
import { toWindowsCommandLine } from './command-line.js';
import type { PlanStep } from './registration-plan.js';
import { type Programs, stepCommandLine } from './run-plan.js';

export function printedPlan(steps: readonly PlanStep[], programs: Programs): string[] {
  const lines: string[] = [];
  for (const step of steps) {
    lines.push(`rem ${step.purpose}`);
    const line = stepCommandLine(step, programs);
    if (step.kind === 'create' && step.guard !== undefined) {
      lines.push(`${toWindowsCommandLine(programs.appcmd, step.guard)} >nul 2>&1 || ${line}`);
    } else if (step.kind === 'remove-if-present') {
      lines.push(`${line} >nul 2>&1`);
    } else {
      lines.push(line);
    }
  }
  return lines;
}
