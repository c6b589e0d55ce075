// Runs a registration plan on Windows, one command at a time, stopping at the first failure
// and reporting it with the exact command line and everything the command printed.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { quoteWindowsArgument, toWindowsCommandLine } from './command-line.js';
import type { PlanStep } from './registration-plan.js';

export interface Programs {
  appcmd: string;
  icacls: string;
  reg: string;
}

/**
 * appcmd.exe and icacls.exe of the running Windows. A 32-bit node on 64-bit Windows sees
 * SysWOW64 through "system32" and would run the 32-bit appcmd; "sysnative" reaches the real one.
 */
export function windowsPrograms(env: NodeJS.ProcessEnv = process.env, arch: string = process.arch): Programs {
  const windir = env.windir ?? env.SystemRoot ?? 'C:\\Windows';
  const system = arch === 'ia32' && env.PROCESSOR_ARCHITEW6432 !== undefined ? 'sysnative' : 'system32';
  return {
    appcmd: path.win32.join(windir, system, 'inetsrv', 'appcmd.exe'),
    icacls: path.win32.join(windir, system, 'icacls.exe'),
    reg: path.win32.join(windir, system, 'reg.exe'),
  };
}

/** What `%windir%` spells them as, for printing on a machine that is not the target. */
export const printedPrograms: Programs = {
  appcmd: '%windir%\\system32\\inetsrv\\appcmd.exe',
  icacls: 'icacls',
  reg: 'reg',
};

export function stepCommandLine(step: PlanStep, programs: Programs): string {
  return toWindowsCommandLine(programs[step.program], step.args);
}

export interface CommandResult {
  code: number | null;
  output: string;
}

/** Runs one command line exactly as printed (windowsVerbatimArguments). */
export function runCommand(program: string, args: readonly string[]): Promise<CommandResult> {
  return new Promise((resolve) => {
    const windows = process.platform === 'win32';
    const child = spawn(program, windows ? args.map(quoteWindowsArgument) : [...args], {
      windowsVerbatimArguments: windows,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.on('error', (error) => resolve({ code: null, output: error.message }));
    child.on('close', (code) => resolve({ code, output: Buffer.concat(chunks).toString('utf8').trim() }));
  });
}

export type Runner = (program: string, args: readonly string[]) => Promise<CommandResult>;

export interface PlanOutcome {
  ok: boolean;
  /** One line per step (one for a run of steps with the same purpose), and the failure's command and output. */
  report: string[];
  /** What the 'create' steps that ran made (their `creates`), even when a later step failed. */
  created: NonNullable<PlanStep['creates']>[];
  /** The 'record' steps' outputs by their `records` name; null where the query failed. */
  recorded: Record<string, string | null>;
}

/** Whether a 'create' step's guard says its object or value is already in place. */
async function guardHolds(step: PlanStep, programs: Programs, run: Runner): Promise<boolean> {
  if (step.guard === undefined) return false;
  const result = await run(programs.appcmd, step.guard);
  return result.code === 0 && (step.guardOutput === undefined || result.output.trim() === step.guardOutput);
}

export async function runPlan(
  steps: readonly PlanStep[],
  programs: Programs,
  run: Runner = runCommand,
): Promise<PlanOutcome> {
  const report: string[] = [];
  const created: PlanOutcome['created'] = [];
  const recorded: PlanOutcome['recorded'] = {};
  let lastLine = '';
  const say = (line: string): void => {
    // Steps of one kind share their purpose (each default deny entry): one line for the run.
    if (line !== lastLine) report.push(line);
    lastLine = line;
  };
  for (const step of steps) {
    const line = stepCommandLine(step, programs);
    if (step.kind === 'record') {
      const result = await run(programs[step.program], step.args);
      if (step.records !== undefined)
        recorded[step.records] = result.code === 0 ? result.output.trim() : null;
      continue;
    }
    if (step.kind === 'create' && (await guardHolds(step, programs, run))) {
      say(`skip  ${step.purpose}: already there`);
      continue;
    }
    const result = await run(programs[step.program], step.args);
    if (result.code === 0) {
      if (step.kind === 'create' && step.creates !== undefined) created.push(step.creates);
      say(`ok    ${step.purpose}`);
      continue;
    }
    if (step.kind === 'remove-if-present') {
      say(`ok    ${step.purpose}: none found`);
      continue;
    }
    report.push(`FAIL  ${step.purpose}`);
    report.push(`      command: ${line}`);
    report.push(`      exit code: ${result.code ?? 'not started'}`);
    for (const outputLine of (result.output || '(no output)').split(/\r?\n/))
      report.push(`      | ${outputLine}`);
    if (step.hint !== undefined) report.push(`      hint: ${step.hint}`);
    report.push(
      step.program === 'appcmd'
        ? '      appcmd needs an elevated prompt (Run as administrator).'
        : '      this needs an elevated prompt (Run as administrator).',
    );
    return { ok: false, report, created, recorded };
  }
  return { ok: true, report, created, recorded };
}
