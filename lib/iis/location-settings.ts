// The attributes install sets at the application's location paths in applicationHost.config,
// as one table: install writes them (one appcmd run per section), records the value each had
// before, and uninstall clears them again and, where the value in effect then differs from the
// recorded one, writes the recorded value back. One table for all three, so uninstall cannot
// forget what install set.
import { APPHOST, setConfig } from './command-line.js';
import type { PlanStep } from './registration-plan.js';
import { requestFilteringSettings } from './request-filtering.js';

export interface LocationSetting {
  /** appcmd's config path (a location in applicationHost.config). */
  location: string;
  section: string;
  /** [attribute path below the section, value]. */
  values: ReadonlyArray<readonly [string, string]>;
  purpose: string;
  hint?: string;
}

const WINDOWS_AUTH_HINT =
  'is the IIS feature "Windows Authentication" installed? ' +
  '(dism /online /enable-feature /featurename:IIS-WindowsAuthentication, or Server Manager: Web-Windows-Auth)';
const AUTH = 'system.webServer/security/authentication';

/** `location`: the application's config path, e.g. "Default Web Site/kallithea". */
export function locationSettings(location: string): LocationSetting[] {
  return [
    {
      location,
      section: 'system.webServer/handlers',
      values: [['accessPolicy', 'Read, Script']],
      purpose: "allow Script access, which the handler's requireAccess='Script' needs",
    },
    {
      location,
      section: `${AUTH}/windowsAuthentication`,
      values: [['enabled', 'true']],
      purpose:
        "Windows authentication on: IIS logs browsers in with the Windows user, which Kallithea's " +
        'container plugin takes as the Kallithea user',
      hint: WINDOWS_AUTH_HINT,
    },
    {
      location,
      section: `${AUTH}/anonymousAuthentication`,
      values: [['enabled', 'true']],
      purpose:
        'anonymous on as well: hg and git send HTTP Basic credentials meant for Kallithea (they cannot ' +
        'answer a Negotiate/NTLM challenge); with anonymous off IIS would reject them with 401 before ' +
        'Kallithea sees them. Kallithea, not IIS, then checks the Basic credentials',
    },
    {
      location: `${location}/_admin/login`,
      section: `${AUTH}/anonymousAuthentication`,
      values: [['enabled', 'false']],
      purpose:
        "anonymous off on Kallithea's login page only: a browser that is not logged in is sent there, " +
        'IIS asks it for Windows credentials, and the container plugin logs the Windows user in (single sign-on)',
    },
    ...requestFilteringSettings(location),
  ];
}

/** The name install's state keeps an attribute's earlier value under. */
export function settingKey(location: string, section: string, attribute: string): string {
  return `config|${location}|${section}|${attribute}`;
}

/** appcmd's query for the value of one attribute in effect at a location. */
export function attributeQuery(location: string, section: string, attribute: string): string[] {
  return ['list', 'config', location, `-section:${section}`, `/text:${attribute}`];
}

/** Install: record each attribute's value, before any change. */
export function recordSettingSteps(settings: readonly LocationSetting[]): PlanStep[] {
  return settings.flatMap((setting) =>
    setting.values.map(([attribute]) => ({
      kind: 'record' as const,
      program: 'appcmd' as const,
      args: attributeQuery(setting.location, setting.section, attribute),
      records: settingKey(setting.location, setting.section, attribute),
      purpose: `record ${attribute} of ${setting.section} at ${setting.location}`,
    })),
  );
}

/** Install: one appcmd run per section. */
export function applySettingStep(setting: LocationSetting): PlanStep {
  return {
    kind: 'run',
    program: 'appcmd',
    args: setConfig(
      setting.location,
      setting.section,
      ...setting.values.map(([attribute, value]) => `/${attribute}:${value}`),
    ),
    purpose: setting.purpose,
    ...(setting.hint === undefined ? {} : { hint: setting.hint }),
  };
}

/**
 * Uninstall: clear each attribute at the location (back to what is inherited), then, when
 * install recorded a value and the inherited one differs (the attribute had been set at that
 * location before install, e.g. by IIS Manager for the site root), write the recorded value back.
 */
export function restoreSettingSteps(
  settings: readonly LocationSetting[],
  previous: Readonly<Record<string, string | null>> | undefined,
): PlanStep[] {
  return settings.flatMap((setting) =>
    setting.values.flatMap(([attribute]): PlanStep[] => {
      const where = `${attribute} of ${setting.section} at ${setting.location}`;
      const steps: PlanStep[] = [
        {
          kind: 'remove-if-present',
          program: 'appcmd',
          args: [
            'clear',
            'config',
            setting.location,
            `-section:${setting.section}`,
            `/${attribute}`,
            APPHOST,
          ],
          purpose: `clear ${where} (install set it)`,
        },
      ];
      const before = previous?.[settingKey(setting.location, setting.section, attribute)];
      if (typeof before === 'string') {
        steps.push({
          kind: 'create',
          program: 'appcmd',
          args: setConfig(setting.location, setting.section, `/${attribute}:${before}`),
          guard: attributeQuery(setting.location, setting.section, attribute),
          guardOutput: before,
          purpose: `put ${where} back to ${before}, its value before install (skipped when it already is)`,
        });
      }
      return steps;
    }),
  );
}
