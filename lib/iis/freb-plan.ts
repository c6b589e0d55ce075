// `trace --freb on|off`: IIS Failed Request Tracing for the Kallithea application. On: the
// site's traceFailedRequestsLogging switched on (IIS writes nothing for a site without it) and
// one rule at the application's location in applicationHost.config that traces every request
// answered 500-599 or taking longer than a threshold, with the events of IIS's own modules
// (authentication, filtering, the handler mapping) and of the ISAPI extension. Off: the rule is
// removed; the site's switch stays on, since other applications of the site may have rules of
// their own, and without a rule it writes nothing.
import { setConfig } from './command-line.js';
import type { PlanStep } from './registration-plan.js';
import type { Runner } from './run-plan.js';

export const TRACE_SECTION = 'system.webServer/tracing/traceFailedRequests';
/** IIS's default folder; IIS writes each site's traces into W3SVC<site id> below it. */
export const DEFAULT_FREB_DIRECTORY = '%SystemDrive%\\inetpub\\logs\\FailedReqLogFiles';
const RULE = "[path='*']";

const TRACING_HINT =
  'is the IIS feature "Tracing" installed? ' +
  '(dism /online /enable-feature /featurename:IIS-HttpTracing, or Server Manager: Web-Http-Tracing)';

export interface FrebOptions {
  site: string;
  /** The application's config path, e.g. "Default Web Site/kallithea". */
  location: string;
  /** Requests that take longer than this many seconds are traced too. */
  slowSeconds: number;
}

/** appcmd's timeSpan (hh:mm:ss) for a number of seconds. */
export function timeSpan(seconds: number): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${two(Math.floor(seconds / 3600))}:${two(Math.floor((seconds % 3600) / 60))}:${two(seconds % 60)}`;
}

export function frebRuleRemoval(location: string): PlanStep {
  return {
    kind: 'remove-if-present',
    program: 'appcmd',
    args: setConfig(location, TRACE_SECTION, `/-${RULE}`),
    purpose: `remove the Failed Request Tracing rule at ${location}`,
  };
}

export function frebPlan(options: FrebOptions, on: boolean): PlanStep[] {
  if (!on) return [frebRuleRemoval(options.location)];
  const set = (...operations: string[]): string[] =>
    setConfig(options.location, TRACE_SECTION, ...operations);
  return [
    {
      kind: 'run',
      program: 'appcmd',
      args: ['set', 'site', options.site, '/traceFailedRequestsLogging.enabled:true'],
      purpose: `switch Failed Request Tracing on for the site "${options.site}" (its folder and file limits stay as they are)`,
    },
    frebRuleRemoval(options.location),
    {
      kind: 'run',
      program: 'appcmd',
      args: set(`/+${RULE}`),
      purpose: `add a tracing rule for every path of the application at ${options.location}`,
      hint: TRACING_HINT,
    },
    {
      kind: 'run',
      program: 'appcmd',
      args: set(
        `/+${RULE}.traceAreas.[provider='WWW Server',areas='Authentication,Security,Filter,StaticFile,CGI,Compression,Cache,RequestNotifications,Module',verbosity='Verbose']`,
      ),
      purpose: "trace IIS's own modules: authentication, request filtering, the handler mapping",
    },
    {
      kind: 'run',
      program: 'appcmd',
      args: set(`/+${RULE}.traceAreas.[provider='ISAPI Extension',verbosity='Verbose']`),
      purpose: 'trace the ISAPI extension (the DLL) calls',
    },
    {
      kind: 'run',
      program: 'appcmd',
      args: set(
        `/${RULE}.failureDefinitions.statusCodes:500-599`,
        `/${RULE}.failureDefinitions.timeTaken:${timeSpan(options.slowSeconds)}`,
      ),
      purpose:
        `keep a trace of every request answered 500-599 or taking longer than ${options.slowSeconds} s ` +
        '(a clone of a large repository may legitimately take longer: raise --slow for those)',
    },
  ];
}

/** Where IIS writes the site's traces: the site's directory (%SystemDrive% expanded) and W3SVC<id>. */
export function frebFolder(directory: string, siteId: string, env: NodeJS.ProcessEnv = process.env): string {
  const expanded = directory.replace(/%SystemDrive%/gi, env.SystemDrive ?? 'C:');
  return `${expanded.replace(/\\+$/, '')}\\W3SVC${siteId}`;
}

/** The folder to name to the administrator: asked of IIS on Windows, IIS's default elsewhere. */
export async function describeFrebFolder(
  site: string,
  run: Runner | undefined,
  appcmd: string,
): Promise<string> {
  if (run !== undefined) {
    const id = await run(appcmd, ['list', 'site', site, '/text:id']);
    const directory = await run(appcmd, ['list', 'site', site, '/text:traceFailedRequestsLogging.directory']);
    if (id.code === 0 && directory.code === 0 && id.output !== '')
      return frebFolder(directory.output.trim() || DEFAULT_FREB_DIRECTORY, id.output.trim());
  }
  return `${DEFAULT_FREB_DIRECTORY}\\W3SVC<id of the site "${site}">`;
}
