// The part of the IIS configuration schema the appcmd plans of install, uninstall and
// `trace --freb` write: each section, element and attribute they touch, its type, valid values
// and default. Written down from Microsoft's IIS configuration reference (learn.microsoft.com,
// "Configuration Reference" under /iis/configuration/, and the IIS Settings Schema pages), one
// source named per section; IIS's own schema is %windir%\system32\inetsrv\config\schema\
// IIS_schema.xml. test/unit/iis/iis-schema.test.ts checks every appcmd step against it, and the
// applicationHost.config model of the tests takes defaults and collection keys from it. The
// http.sys registry values' ranges are in http-sys-limits.ts, with their source.

export type AttributeType =
  | { type: 'bool' }
  | { type: 'uint'; min?: number; max?: number }
  | { type: 'string'; pattern?: RegExp; nonEmpty?: boolean }
  | { type: 'enum'; values: readonly string[] }
  /** A comma-separated combination of the names ("Read, Script"). */
  | { type: 'flags'; values: readonly string[] }
  /** hh:mm:ss */
  | { type: 'timeSpan' };

export type AttributeSchema = AttributeType & { default?: string };

export interface ElementSchema {
  attributes: Readonly<Record<string, AttributeSchema>>;
  children?: Readonly<Record<string, ElementSchema>>;
  /** The element's <add> collection: the attributes that identify an entry, and an entry's schema. */
  collection?: { key: readonly string[]; entry: ElementSchema };
}

export interface SectionSchema extends ElementSchema {
  /** Where Microsoft's configuration reference describes it. */
  source: string;
  /** Only at server level (appcmd without a config path): isapiCgiRestriction. */
  serverOnly?: boolean;
}

const bool = (value: boolean): AttributeSchema => ({ type: 'bool', default: String(value) });
const uint = (value: number, min?: number, max?: number): AttributeSchema => ({
  type: 'uint',
  default: String(value),
  ...(min === undefined ? {} : { min }),
  ...(max === undefined ? {} : { max }),
});
const text = (value = ''): AttributeSchema => ({ type: 'string', default: value });
const required = (): AttributeSchema => ({ type: 'string', nonEmpty: true });

const reference = 'https://learn.microsoft.com/en-us/iis/configuration/';

export const sections: Readonly<Record<string, SectionSchema>> = {
  'system.webServer/handlers': {
    source: `${reference}system.webserver/handlers/ and system.webserver/handlers/add`,
    attributes: {
      accessPolicy: {
        type: 'flags',
        values: [
          'None',
          'Read',
          'Write',
          'Execute',
          'Source',
          'Script',
          'NoRemoteWrite',
          'NoRemoteRead',
          'NoRemoteExecute',
          'NoRemoteScript',
        ],
        default: 'Read',
      },
    },
    collection: {
      key: ['name'],
      entry: {
        attributes: {
          name: required(),
          path: required(),
          verb: required(),
          type: text(),
          modules: text(),
          scriptProcessor: text(),
          resourceType: {
            type: 'enum',
            values: ['File', 'Directory', 'Either', 'Unspecified'],
            default: 'Unspecified',
          },
          requireAccess: {
            type: 'enum',
            values: ['None', 'Read', 'Write', 'Script', 'Execute'],
            default: 'Script',
          },
          allowPathInfo: bool(false),
          preCondition: {
            type: 'string',
            // The names IIS knows; a handler for a native DLL only needs the bitness.
            pattern:
              /^((bitness32|bitness64|integratedMode|ISAPIMode|runtimeVersionv1\.1|runtimeVersionv2\.0|runtimeVersionv4\.0)(,|$))*$/,
            default: '',
          },
          responseBufferLimit: uint(4194304),
        },
      },
    },
  },
  'system.webServer/security/isapiCgiRestriction': {
    source: `${reference}system.webserver/security/isapicgirestriction/`,
    serverOnly: true,
    attributes: { notListedIsapisAllowed: bool(false), notListedCgisAllowed: bool(false) },
    collection: {
      key: ['path'],
      entry: {
        attributes: {
          path: { type: 'string', pattern: /^[A-Za-z]:\\|^%[A-Za-z]+%\\|^\\\\/, nonEmpty: true },
          allowed: bool(false),
          groupId: text(),
          description: text(),
        },
      },
    },
  },
  'system.webServer/security/authentication/windowsAuthentication': {
    source: `${reference}system.webserver/security/authentication/windowsauthentication/`,
    attributes: { enabled: bool(false) },
  },
  'system.webServer/security/authentication/anonymousAuthentication': {
    source: `${reference}system.webserver/security/authentication/anonymousauthentication`,
    attributes: { enabled: bool(true) },
  },
  'system.webServer/security/requestFiltering': {
    source: `${reference}system.webserver/security/requestfiltering/ (fileextensions, hiddensegments, requestlimits)`,
    attributes: { allowDoubleEscaping: bool(false), allowHighBitCharacters: bool(true) },
    children: {
      fileExtensions: {
        attributes: { allowUnlisted: bool(true), applyToWebDAV: bool(true) },
        collection: {
          key: ['fileExtension'],
          entry: { attributes: { fileExtension: required(), allowed: bool(true) } },
        },
      },
      hiddenSegments: {
        attributes: { applyToWebDAV: bool(true) },
        collection: { key: ['segment'], entry: { attributes: { segment: required() } } },
      },
      requestLimits: {
        attributes: {
          maxAllowedContentLength: uint(30000000, 0, 4294967295),
          maxUrl: uint(4096, 0, 4294967295),
          maxQueryString: uint(2048, 0, 4294967295),
        },
      },
    },
  },
  'system.webServer/tracing/traceFailedRequests': {
    source: `${reference}system.webserver/tracing/tracefailedrequests/ (add, traceareas, failuredefinitions)`,
    attributes: {},
    collection: {
      key: ['path'],
      entry: {
        attributes: { path: required(), customActionExe: text(), customActionParams: text() },
        children: {
          traceAreas: {
            attributes: {},
            collection: {
              key: ['provider'],
              entry: {
                attributes: {
                  provider: { type: 'enum', values: ['WWW Server', 'ASP', 'ASPNET', 'ISAPI Extension'] },
                  areas: {
                    type: 'string',
                    // WWW Server's areas (IIS 7; FastCGI and WebSocket came later, left out).
                    pattern:
                      /^((Authentication|Security|Filter|StaticFile|CGI|Compression|Cache|RequestNotifications|Module|All)(,|$))*$/,
                    default: '',
                  },
                  verbosity: {
                    type: 'enum',
                    values: ['General', 'CriticalError', 'Error', 'Warning', 'Information', 'Verbose'],
                    default: 'Warning',
                  },
                },
              },
            },
          },
          failureDefinitions: {
            attributes: {
              // "500", "404.2,500" or a range "400-599", no spaces; codes 100-999.
              statusCodes: {
                type: 'string',
                pattern: /^([1-9]\d\d(\.\d{1,3})?(-[1-9]\d\d)?)(,[1-9]\d\d(\.\d{1,3})?(-[1-9]\d\d)?)*$/,
                default: '',
              },
              timeTaken: { type: 'timeSpan', default: '00:00:00' },
              verbosity: {
                type: 'enum',
                values: ['Ignore', 'CriticalError', 'Error', 'Warning'],
                default: 'Ignore',
              },
            },
          },
        },
      },
    },
  },
};

/** The objects appcmd's add/set/list/delete apppool, app and site commands write. */
export const objects: Readonly<Record<'apppool' | 'app' | 'site', SectionSchema>> = {
  apppool: {
    source: `${reference}system.applicationhost/applicationpools/add/`,
    attributes: {
      name: required(),
      managedPipelineMode: { type: 'enum', values: ['Integrated', 'Classic'], default: 'Integrated' },
      // "" is No Managed Code.
      managedRuntimeVersion: { type: 'string', pattern: /^(|v1\.1|v2\.0|v4\.0)$/, default: 'v4.0' },
      enable32BitAppOnWin64: bool(false),
    },
  },
  app: {
    source: `${reference}system.applicationhost/sites/site/application/`,
    attributes: {
      'site.name': required(),
      path: { type: 'string', pattern: /^\/[^'"]*$/ },
      // appcmd add app takes the root virtual directory's physicalPath along.
      physicalPath: required(),
      applicationPool: { type: 'string', nonEmpty: true, default: 'DefaultAppPool' },
    },
  },
  site: {
    source: `${reference}system.applicationhost/sites/site/tracefailedrequestslogging`,
    attributes: {
      id: uint(0),
      'traceFailedRequestsLogging.enabled': bool(false),
      'traceFailedRequestsLogging.directory': text('%SystemDrive%\\inetpub\\logs\\FailedReqLogFiles'),
      'traceFailedRequestsLogging.maxLogFiles': uint(50),
    },
  },
};

/** The problem with `value` for an attribute of this schema, if any. */
export function valueProblem(schema: AttributeSchema, value: string): string | undefined {
  switch (schema.type) {
    case 'bool':
      return /^(true|false)$/i.test(value) ? undefined : `${value} is not true or false`;
    case 'uint': {
      if (!/^\d+$/.test(value)) return `${value} is not a whole number`;
      const n = Number(value);
      if (n > (schema.max ?? 4294967295) || n < (schema.min ?? 0))
        return `${value} is outside ${schema.min ?? 0}..${schema.max ?? 4294967295}`;
      return undefined;
    }
    case 'string':
      if (schema.nonEmpty === true && value === '') return 'must not be empty';
      if (schema.pattern !== undefined && !schema.pattern.test(value))
        return `${value} does not match ${schema.pattern}`;
      return undefined;
    case 'enum':
      return schema.values.includes(value) ? undefined : `${value} is not one of ${schema.values.join(', ')}`;
    case 'flags': {
      const bad = value
        .split(',')
        .map((flag) => flag.trim())
        .filter((flag) => !schema.values.includes(flag));
      return bad.length === 0 ? undefined : `${bad.join(', ')} not among ${schema.values.join(', ')}`;
    }
    case 'timeSpan':
      return /^\d{2}:[0-5]\d:[0-5]\d$/.test(value) ? undefined : `${value} is not hh:mm:ss`;
  }
}
