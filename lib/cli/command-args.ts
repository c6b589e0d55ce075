// How every subcommand reads its options: node's parseArgs plus the same two exits, so a
// user gets the same answer from each command. A malformed or unknown option prints the
// problem and the usage (exit 2); --help / -h prints the usage (exit 0).
import { parseArgs, type ParseArgsConfig } from 'node:util';

type OptionTable = NonNullable<ParseArgsConfig['options']>;
const helpOption = { help: { type: 'boolean', short: 'h', default: false } } as const;

/** The parsed option values, or the exit code the command should return at once. */
export function parseCommandArgs<const T extends OptionTable>(
  command: string,
  args: string[],
  options: T,
  usage: string,
): ReturnType<typeof parseArgs<{ args: string[]; options: T & typeof helpOption }>>['values'] | number {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { ...options, ...helpOption } });
  } catch (error) {
    process.stderr.write(`kallithea-isapi ${command}: ${(error as Error).message}\n${usage}`);
    return 2;
  }
  if ((parsed.values as { help?: boolean }).help === true) {
    process.stdout.write(usage);
    return 0;
  }
  return parsed.values as ReturnType<
    typeof parseArgs<{ args: string[]; options: T & typeof helpOption }>
  >['values'];
}
