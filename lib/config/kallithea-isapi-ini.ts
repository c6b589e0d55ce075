// kallithea-isapi.ini as a whole: its syntax, its sections ([isapi] for the DLL, [bridge]
// for the bridge host, [status] for who may see the status page) and the my.ini that [bridge] kallithea_config names. `check`, `trace`
// and the bridge's start-up all load it through here, so they cannot disagree about what is
// valid. Every problem is collected; readBridgeSettings() turns them into one ConfigError.
import { bridgeDefaults, checkBridgeSection, type BridgeSettings } from './bridge-section.js';
import { readIni, type IniSection } from './ini-text.js';
import { readIsapiSection, type IsapiSettings } from './isapi-section.js';
import { readKallitheaIni, type KallitheaIni } from './kallithea-ini.js';
import { throwIfAny, type ConfigProblem } from './problems.js';
import { checkStatusSection, statusDefaults, type StatusSettings } from './status-section.js';

export interface KallitheaIsapiIni {
  readonly file: string;
  /** The file's text, or undefined when it could not be read. */
  readonly text: string | undefined;
  /** Unreadable file, syntax and unknown sections. */
  readonly fileProblems: ConfigProblem[];
  readonly isapi: { settings: IsapiSettings; problems: ConfigProblem[] };
  /** settings.upstream is resolved from my.ini when [bridge] upstream is not set. */
  readonly bridge: { settings: BridgeSettings; problems: ConfigProblem[] };
  readonly status: { settings: StatusSettings; problems: ConfigProblem[] };
  /** Where settings.upstream came from; 'workers' when the bridge runs Kallithea itself. */
  readonly upstreamFrom: 'upstream' | 'kallithea_config' | 'default' | 'workers';
  /** Kallithea's my.ini when kallithea_config names one (read even when upstream is set). */
  readonly kallithea: KallitheaIni | undefined;
}

const SECTIONS = ['isapi', 'bridge', 'status'];

function unknownSections(file: string, sections: Record<string, IniSection>): ConfigProblem[] {
  return Object.keys(sections)
    .filter((name) => !SECTIONS.includes(name))
    .map((name) => ({
      file,
      key: `[${name}]`,
      problem: 'unknown section',
      fix: 'the sections are [isapi], [bridge] and [status]',
    }));
}

export async function readKallitheaIsapiIni(file: string): Promise<KallitheaIsapiIni> {
  const ini = await readIni(file, 'kallithea-isapi', 'the kallithea-isapi configuration');
  const isapi = readIsapiSection(ini.sections.isapi ?? {}, file);
  const bridge = checkBridgeSection(file, ini.sections.bridge);
  let upstreamFrom: KallitheaIsapiIni['upstreamFrom'] =
    ini.sections.bridge?.upstream !== undefined && !bridge.problems.some((p) => p.key === '[bridge] upstream')
      ? 'upstream'
      : 'default';
  if (bridge.settings.python !== undefined) {
    const key = '[bridge] python';
    if (upstreamFrom === 'upstream') {
      bridge.problems.push({
        file,
        key,
        problem: 'python and upstream are both set',
        fix: 'remove upstream to let the bridge run Kallithea, or python to use the Kallithea at upstream',
      });
    } else if (bridge.settings.kallitheaConfig === undefined) {
      bridge.problems.push({
        file,
        key,
        problem: 'kallithea_config is not set',
        fix: 'give kallithea_config, the my.ini the workers serve (python alone says which Python, not which Kallithea)',
      });
    } else {
      upstreamFrom = 'workers';
    }
  }
  let kallithea: KallitheaIni | undefined;
  if (bridge.settings.kallitheaConfig !== undefined) {
    kallithea = await readKallitheaIni(
      bridge.settings.kallitheaConfig,
      `[bridge] kallithea_config in ${file}`,
    );
    if (upstreamFrom === 'default' && kallithea.upstream !== undefined) {
      bridge.settings.upstream = kallithea.upstream;
      upstreamFrom = 'kallithea_config';
    }
  }
  return {
    file,
    text: ini.text,
    fileProblems: [...ini.problems, ...unknownSections(file, ini.sections)],
    isapi,
    bridge,
    status: checkStatusSection(file, ini.sections.status),
    upstreamFrom,
    kallithea,
  };
}

/**
 * The bridge's start-up: [bridge] settings, or a ConfigError naming every problem of the file,
 * of [bridge], [status] and of my.ini ([isapi] is the DLL's to judge). No file means every default.
 */
export async function readBridgeSettings(file: string | undefined): Promise<BridgeSettings> {
  return (await readBridgeStart(file)).settings;
}

/** readBridgeSettings and the [status] section with it, from one reading of the file. */
export async function readBridgeStart(
  file: string | undefined,
): Promise<{ settings: BridgeSettings; status: StatusSettings }> {
  if (file === undefined) return { settings: { ...bridgeDefaults }, status: statusDefaults };
  const ini = await readKallitheaIsapiIni(file);
  throwIfAny([
    ...ini.fileProblems,
    ...ini.bridge.problems,
    ...ini.status.problems,
    ...(ini.kallithea?.problems ?? []),
  ]);
  return { settings: ini.bridge.settings, status: ini.status.settings };
}
