// The failures of lib/config, each with a stable `code` like the bridge's own (lib/bridge/errors.ts
// re-exports them, so one grep for a code still finds its class). They live here because the
// bridge imports config and config must not import the bridge.

/** Where a configuration problem is and what to do: `file[:line]: [key: ]problem; fix`. */
export function configProblemText(
  file: string,
  line: number | undefined,
  key: string | undefined,
  problem: string,
  fix: string,
): string {
  const where = `${file}${line === undefined ? '' : `:${line}`}${key === undefined ? '' : `: ${key}`}`;
  return `${where}: ${problem}; ${fix}`;
}

/**
 * A configuration problem, naming the file, the key (when one is at fault) and the fix. When a
 * file has several, the first is the error's own and the others follow it, one per line.
 */
export class ConfigError extends Error {
  readonly code = 'ERR_CONFIG';
  readonly file: string;
  readonly key: string | undefined;

  constructor(
    file: string,
    key: string | undefined,
    problem: string,
    fix: string,
    options: { line?: number; others?: readonly string[] } = {},
  ) {
    const first = configProblemText(file, options.line, key, problem, fix);
    super([first, ...(options.others ?? [])].join('\n'));
    this.name = new.target.name;
    this.file = file;
    this.key = key;
  }
}

/**
 * A listen address (`--listen`, [bridge] listen, [isapi] bridge_address) outside the one
 * grammar of listen-address.ts. `fix` alone is what `check` prints after the key.
 */
export class ListenAddressError extends Error {
  readonly code = 'ERR_LISTEN_ADDRESS';
  readonly fix: string;

  constructor(address: string, fix: string) {
    super(`bad listen address '${address}': ${fix}`);
    this.name = new.target.name;
    this.fix = fix;
  }
}
