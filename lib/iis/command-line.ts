// Windows command lines for appcmd and icacls. The installer prints exactly the line it runs
// (spawned with windowsVerbatimArguments), so an administrator can copy a printed line into
// cmd.exe and get the same result. Quoting follows the C runtime's argument rules, which
// appcmd and icacls use: an argument with a space or a tab is wrapped in double quotes, and
// an empty value after `/name:` is written `""`.

/** Quotes one argument for a Windows command line. */
export function quoteWindowsArgument(arg: string): string {
  if (arg.includes('"')) {
    // No argument the installer builds contains a double quote; refusing beats guessing.
    throw new Error(`cannot put a double quote on a command line safely: ${arg}`);
  }
  if (arg === '') return '""';
  if (/^\/[A-Za-z0-9.]+:$/.test(arg)) return `${arg}""`;
  if (!/[\s&|<>^()]/.test(arg)) return arg;
  // Backslashes before the closing quote would escape it: double them there.
  const trailing = /\\*$/.exec(arg)?.[0] ?? '';
  return `"${arg}${trailing}"`;
}

/** The whole command line: the program (quoted if needed) and its arguments. */
export function toWindowsCommandLine(program: string, args: readonly string[]): string {
  return [program, ...args].map(quoteWindowsArgument).join(' ');
}

/** appcmd's switch that writes a setting into applicationHost.config (at a location path). */
export const APPHOST = '/commit:apphost';

/** `appcmd set config [path] -section:S ops... /commit:apphost`; no path: server level. */
export function setConfig(location: string | undefined, section: string, ...operations: string[]): string[] {
  return [
    'set',
    'config',
    ...(location === undefined ? [] : [location]),
    `-section:${section}`,
    ...operations,
    APPHOST,
  ];
}
