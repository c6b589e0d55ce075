// The [bridge] section's keys and value rules, as `check` reports them.
// TODO(lead): replace with lib/config's [bridge] reader once it lands, so that check and the
// bridge host can never disagree about what is valid.
import { bridgeAddressProblem, type SectionProblem } from '../config/isapi-section.js';

export interface BridgeSettingsForCheck {
  listen: string | undefined;
  kallitheaConfig: string | undefined;
  upstream: URL | undefined;
  userHeader: string;
  accessLog: string;
}

type Rule = (value: string) => string | undefined;

const secondsRule: Rule = (v) =>
  /^\d+(\.\d+)?$/.test(v) && Number(v) > 0 ? undefined : 'give seconds as a number above 0, e.g. 30 or 2.5';

const rules: Record<string, Rule> = {
  listen: (v) => bridgeAddressProblem(v),
  kallithea_config: (v) => (v === '' ? "give the path of Kallithea's my.ini" : undefined),
  upstream: (v) => {
    try {
      const url = new URL(v);
      if (url.protocol !== 'http:') return 'give an http:// URL such as http://127.0.0.1:5000';
      if (url.pathname !== '/' || url.search !== '')
        return 'give only scheme, host and port: http://127.0.0.1:5000';
      return undefined;
    } catch {
      return 'give an http:// URL such as http://127.0.0.1:5000';
    }
  },
  user_header: (v) =>
    /^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$/.test(v)
      ? undefined
      : 'give a header name of letters, digits and dashes, e.g. X-Forwarded-User (underscores get dropped by servers)',
  connect_timeout: secondsRule,
  headers_timeout: secondsRule,
  body_timeout: secondsRule,
  shutdown_timeout: secondsRule,
  max_connections: (v) =>
    /^\d+$/.test(v) && Number(v) >= 1 ? undefined : 'give a whole number of 1 or more',
  access_log: (v) => (v === '' ? "give '-' for stderr or a file path" : undefined),
};

export const bridgeKeys: readonly string[] = Object.keys(rules);

export function readBridgeSection(
  raw: Readonly<Record<string, string>>,
  file: string,
): { settings: BridgeSettingsForCheck; problems: SectionProblem[] } {
  const problems: SectionProblem[] = [];
  for (const [key, value] of Object.entries(raw)) {
    const rule = rules[key];
    const fix =
      rule === undefined ? `unknown key; the [bridge] keys are ${bridgeKeys.join(', ')}` : rule(value.trim());
    if (fix !== undefined) {
      const what = rule === undefined ? fix : `bad value ${JSON.stringify(value)}: ${fix}`;
      problems.push({ file, section: 'bridge', key, message: `${file}: [bridge] ${key}: ${what}` });
    }
  }
  const ok = (key: string): string | undefined =>
    raw[key] !== undefined && !problems.some((p) => p.key === key) ? raw[key].trim() : undefined;
  const upstream = ok('upstream');
  return {
    settings: {
      listen: ok('listen'),
      kallitheaConfig: ok('kallithea_config'),
      upstream: upstream === undefined ? undefined : new URL(upstream),
      userHeader: ok('user_header') ?? 'X-Forwarded-User',
      accessLog: ok('access_log') ?? '-',
    },
    problems,
  };
}
