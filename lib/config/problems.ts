// One configuration problem, as every reader in lib/config reports it: the file, the line or
// key at fault, what is wrong and the fix. Readers collect all of them, so `check` can list
// every broken key at once; the bridge's start-up turns them into one ConfigError.
import { ConfigError, configProblemText } from './errors.js';

export interface ConfigProblem {
  readonly file: string;
  /** 1-based line, for syntax problems. */
  readonly line?: number;
  /** `[section] key`, or `[section]`, when one is at fault. */
  readonly key?: string;
  readonly problem: string;
  readonly fix: string;
}

export function problemText(p: ConfigProblem): string {
  return configProblemText(p.file, p.line, p.key, p.problem, p.fix);
}

/** Throws a ConfigError for the first problem, listing the others in its message. */
export function throwIfAny(problems: readonly ConfigProblem[]): void {
  const [first, ...others] = problems;
  if (first === undefined) return;
  throw new ConfigError(first.file, first.key, first.problem, first.fix, {
    ...(first.line === undefined ? {} : { line: first.line }),
    others: others.map(problemText),
  });
}
