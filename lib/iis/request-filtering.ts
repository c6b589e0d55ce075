// IIS request filtering for the Kallithea application only (its location path in
// applicationHost.config), so that a code host can serve what repositories contain. IIS's
// defaults are made for ASP.NET sites: they deny source and project files by extension (404.7:
// Program.cs, app.config, Foo.csproj), hide path segments (404.8: anything under a bin/ folder,
// a repository named bin) and cut URLs at 4096 bytes and query strings at 2048 (404.14/404.15).
//
// Decision: the default deny entries are removed one by one at the location (appcmd writes a
// <remove> for each) and allowUnlisted is set to true there, rather than clearing the whole list.
// A removal is keyed, so it is shown entry by entry in --dry-run, fails harmlessly when the
// server no longer has that entry, and leaves alone any extension an administrator denied
// server-wide on purpose (that one still answers 404.7 and is theirs to lift). Nothing is
// exposed by it: the wildcard handler sends every request to the DLL, so IIS never serves a file
// from the application's folder (kallithea-isapi.ini, logs) whatever the filtering allows.
import { APPHOST, setConfig } from './command-line.js';
import type { LocationSetting } from './location-settings.js';
import type { PlanStep } from './registration-plan.js';

export const REQUEST_FILTERING = 'system.webServer/security/requestFiltering';

/** The <fileExtensions> entries of IIS's default applicationHost.config, all allowed="false". */
export const defaultDeniedExtensions = [
  '.asa', '.asax', '.ascx', '.master', '.skin', '.browser', '.sitemap', '.config', '.cs', '.csproj',
  '.vb', '.vbproj', '.webinfo', '.licx', '.resx', '.resources', '.mdb', '.vjsproj', '.java', '.jsl',
  '.ldb', '.dsdgm', '.ssdgm', '.lsad', '.ssmap', '.cd', '.dsprototype', '.lsaprototype', '.sdm',
  '.sdmDocument', '.mdf', '.ldf', '.ad', '.dd', '.ldd', '.sd', '.adprototype', '.lddprototype',
  '.exclude', '.refresh', '.compiled', '.msgx', '.vsdisco', '.rules',
] as const; // prettier-ignore

/** The <hiddenSegments> entries of IIS's default applicationHost.config. */
export const defaultHiddenSegments = [
  'web.config', 'bin', 'App_code', 'App_GlobalResources', 'App_LocalResources', 'App_WebReferences',
  'App_Data', 'App_Browsers',
] as const; // prettier-ignore

/**
 * requestLimits for Kallithea. maxUrl (the path, without the query): a file's page is
 * /<group>/<repo>/files/<40-hex changeset>/<path in the repository>, a repository path may be
 * up to 4096 bytes (PATH_MAX on the machines that push), and each non-ASCII byte is 3 characters
 * percent-encoded; 16384 covers a 4096-byte ASCII path with room for the prefix and a few
 * thousand encoded bytes. maxQueryString: hg sends its command arguments in the query string
 * when they do not fit the X-HgArg headers, and a getbundle or known command for a repository
 * with many heads lists 41 characters per head (hex node and separator): 32768 takes about 800
 * heads, and also Kallithea's changelog and compare pages with long revision lists. Together they
 * stay below http.sys's own request-line limit once MaxFieldLength is raised to 65534.
 */
export const kallitheaRequestLimits = { maxUrl: 16384, maxQueryString: 32768 } as const;

export function requestFilteringSettings(location: string): LocationSetting[] {
  return [
    {
      location,
      section: REQUEST_FILTERING,
      values: [
        ['requestLimits.maxAllowedContentLength', '4294967295'],
        ['requestLimits.maxUrl', String(kallitheaRequestLimits.maxUrl)],
        ['requestLimits.maxQueryString', String(kallitheaRequestLimits.maxQueryString)],
        ['allowDoubleEscaping', 'true'],
        ['fileExtensions.allowUnlisted', 'true'],
      ],
      purpose:
        'let large pushes through (the default 30,000,000-byte body limit answers 404.13), file names ' +
        'with "+" or "%" (blocked as double escaping with 404.11), deep file paths (maxUrl ' +
        `${kallitheaRequestLimits.maxUrl}, default 4096: 404.14) and long hg and changeset queries ` +
        `(maxQueryString ${kallitheaRequestLimits.maxQueryString}, default 2048: 404.15), and any ` +
        'file extension not listed',
    },
  ];
}

/** Install: remove each default deny entry at the location (appcmd writes a <remove> there). */
export function requestFilteringListSteps(location: string): PlanStep[] {
  const remove = (entry: string, purpose: string): PlanStep => ({
    kind: 'remove-if-present',
    program: 'appcmd',
    args: setConfig(location, REQUEST_FILTERING, `/-${entry}`),
    purpose,
  });
  return [
    ...defaultDeniedExtensions.map((extension) =>
      remove(
        `fileExtensions.[fileExtension='${extension}']`,
        "serve files of every extension IIS denies by default for ASP.NET's sake (.cs, .config, .csproj, " +
          '.resx, .java, .mdb, ...: 404.7), one entry at a time; an entry the server does not have is skipped',
      ),
    ),
    ...defaultHiddenSegments.map((segment) =>
      remove(
        `hiddenSegments.[segment='${segment}']`,
        'show the path segments IIS hides by default (bin, App_Data, App_Code, web.config, ...: 404.8), ' +
          'so a repository folder or a repository named bin is served',
      ),
    ),
  ];
}

/** Uninstall: drop the location's <fileExtensions> and <hiddenSegments> (install's removals). */
export function requestFilteringListClears(location: string): PlanStep[] {
  return ['fileExtensions', 'hiddenSegments'].map((element) => ({
    kind: 'remove-if-present',
    program: 'appcmd',
    args: ['clear', 'config', location, `-section:${REQUEST_FILTERING}`, `/${element}`, APPHOST],
    purpose: `put back the inherited request-filtering ${element} (drop the entries install removed at ${location})`,
  }));
}
