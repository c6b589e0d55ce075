// http.sys, the kernel driver in front of IIS, answers "400 Request Header Too Long" before IIS
// or the DLL see a request whose header line or header block is over its limits, 16 KB each by
// default. Mercurial sends a command's arguments as X-HgArg-1, X-HgArg-2, ... headers (up to
// the size the server advertises per header), so a pull or clone of a repository with many heads
// makes a header block far over 16 KB. The limits are registry values under
// HKLM\SYSTEM\CurrentControlSet\Services\HTTP\Parameters (Microsoft's "Http.sys registry settings
// for Windows", learn.microsoft.com/troubleshoot/developer/webapps/iis/iisadmin-service-inetinfo/
// httpsys-registry-windows); http.sys reads them when it starts, so raising them takes
// `net stop http /y && net start w3svc` (which stops every HTTP service of the machine) or a reboot.
import type { PlanStep } from './registration-plan.js';
import { type Runner, runCommand, windowsPrograms } from './run-plan.js';

export const HTTP_PARAMETERS = 'HKLM\\SYSTEM\\CurrentControlSet\\Services\\HTTP\\Parameters';
export const HTTP_RESTART = 'net stop http /y && net start w3svc';

export interface HttpSysLimit {
  name: 'MaxFieldLength' | 'MaxRequestBytes';
  /** http.sys's value when the registry has none. */
  default: number;
  /** What install --raise-http-limits writes. */
  raised: number;
  min: number;
  max: number;
  what: string;
}

export const httpSysLimits: readonly HttpSysLimit[] = [
  {
    name: 'MaxFieldLength',
    default: 16384,
    // The largest value http.sys takes: one header line, and the request line with a long URL
    // and query string (request filtering's maxUrl + maxQueryString stay below it).
    raised: 65534,
    min: 64,
    max: 65534,
    what: 'the longest header line and request line',
  },
  {
    name: 'MaxRequestBytes',
    default: 16384,
    // The request line and all headers together: hg's X-HgArg headers for a discovery with
    // thousands of heads (Kallithea's uwsgi template gives them 64 KB), with room to spare.
    raised: 262144,
    min: 256,
    max: 16777216,
    what: 'the request line and all headers together',
  },
];

/** The state key install records a value's earlier setting under. */
export function registryKey(name: string): string {
  return `reg|${HTTP_PARAMETERS}|${name}`;
}

export function registryQuery(name: string): string[] {
  return ['query', HTTP_PARAMETERS, '/v', name];
}

/** The DWORD in `reg query` output ("    MaxFieldLength    REG_DWORD    0xfffe"), if any. */
export function parseRegDword(output: string, name: string): number | undefined {
  const match = new RegExp(`^\\s*${name}\\s+REG_DWORD\\s+(0x[0-9a-fA-F]+|\\d+)\\s*$`, 'm').exec(output);
  return match === null ? undefined : Number(match[1]);
}

/** Install --raise-http-limits: record the current values, then write the raised ones. */
export function raiseHttpLimitSteps(): PlanStep[] {
  return [
    ...httpSysLimits.map((limit) => ({
      kind: 'record' as const,
      program: 'reg' as const,
      args: registryQuery(limit.name),
      records: registryKey(limit.name),
      purpose: `record http.sys ${limit.name}`,
    })),
    ...httpSysLimits.map((limit) => ({
      kind: 'run' as const,
      program: 'reg' as const,
      args: ['add', HTTP_PARAMETERS, '/v', limit.name, '/t', 'REG_DWORD', '/d', String(limit.raised), '/f'],
      purpose:
        `raise http.sys ${limit.name} (${limit.what}) from ${limit.default} to ${limit.raised}, so hg's ` +
        `X-HgArg headers are not refused with 400; takes effect after ${HTTP_RESTART} or a reboot`,
    })),
  ];
}

/**
 * Uninstall: put back what install --raise-http-limits found (a value that was not there is
 * deleted). `previous` holds the recorded `reg query` outputs, null where the query failed.
 */
export function restoreHttpLimitSteps(previous: Readonly<Record<string, string | null>>): PlanStep[] {
  const steps: PlanStep[] = [];
  for (const limit of httpSysLimits) {
    const key = registryKey(limit.name);
    if (!(key in previous)) continue;
    const before = previous[key];
    const value = before === null || before === undefined ? undefined : parseRegDword(before, limit.name);
    steps.push(
      value === undefined
        ? {
            kind: 'remove-if-present',
            program: 'reg',
            args: ['delete', HTTP_PARAMETERS, '/v', limit.name, '/f'],
            purpose: `delete http.sys ${limit.name} (install added it; back to the default ${limit.default})`,
          }
        : {
            kind: 'run',
            program: 'reg',
            args: ['add', HTTP_PARAMETERS, '/v', limit.name, '/t', 'REG_DWORD', '/d', String(value), '/f'],
            purpose: `put http.sys ${limit.name} back to ${value}, its value before install`,
          },
    );
  }
  return steps;
}

/** What check and install say about the limits in effect, given `reg query` outputs (null: no value). */
export function httpLimitFindings(
  outputs: Readonly<Record<string, string | null>>,
): { name: string; value: number; low: boolean; text: string }[] {
  return httpSysLimits.map((limit) => {
    const output = outputs[limit.name];
    const value =
      (output === null || output === undefined ? undefined : parseRegDword(output, limit.name)) ??
      limit.default;
    const low = value < limit.raised;
    return {
      name: limit.name,
      value,
      low,
      text: low
        ? `http.sys ${limit.name} is ${value}${value === limit.default ? ' (the default)' : ''}: hg pulls and clones ` +
          `of repositories with many heads get "400 Request Header Too Long"; run 'kallithea-isapi install ` +
          `--raise-http-limits --keep-ini' (sets ${limit.raised}), then ${HTTP_RESTART}`
        : `http.sys ${limit.name} is ${value}`,
    };
  });
}

/** The http.sys values in effect (`reg query` outputs, null where there is no value). */
export async function queryHttpLimits(run: Runner, reg: string): Promise<Record<string, string | null>> {
  const outputs: Record<string, string | null> = {};
  for (const limit of httpSysLimits) {
    const result = await run(reg, registryQuery(limit.name));
    outputs[limit.name] = result.code === 0 ? result.output : null;
  }
  return outputs;
}

/** Install's closing words on http.sys: the values found (on Windows) or what to do. */
export async function httpLimitsReport(raised: boolean, onWindows: boolean): Promise<string[]> {
  if (raised) {
    return [
      `http.sys reads its limits when it starts: run ${HTTP_RESTART} (this stops every HTTP service of the`,
      'machine for a moment) or reboot, before hg pulls of repositories with many heads work.',
    ];
  }
  if (!onWindows) {
    return [
      `http.sys header limits (${httpSysLimits.map((l) => `${l.name} ${l.default}`).join(', ')} by default) refuse`,
      "hg's X-HgArg headers for repositories with many heads; 'kallithea-isapi check' on the server says",
      'whether they are raised, and install --raise-http-limits raises them.',
    ];
  }
  const findings = httpLimitFindings(await queryHttpLimits(runCommand, windowsPrograms().reg));
  return findings.map((finding) => `${finding.low ? 'warning: ' : ''}${finding.text}`);
}
