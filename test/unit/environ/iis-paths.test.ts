// SCRIPT_NAME/PATH_INFO and the raw target for IIS wildcard-map requests (isapi.md 8-9).
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { buildEnviron } from '../../../lib/bridge/environ/build.js';
import { RequestAbort } from '../../../lib/bridge/fastcgi/request-abort.js';

function environFor(params: Record<string, string>) {
  return buildEnviron({
    params: new Map(Object.entries(params)),
    stdin: new PassThrough(),
    stdinEmpty: false,
    abort: new RequestAbort(),
  });
}

/** A latin1 string of the UTF-8 bytes of `text`: how a raw URL arrives in a FastCGI param. */
function bytes(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

interface Case {
  name: string;
  applMdPath: string;
  unencodedUrl?: string;
  httpUrl?: string;
  url?: string;
  queryString?: string;
  scriptName: string;
  pathInfo: string;
  rawTarget: string;
  query: string;
}

const cases: Case[] = [
  {
    name: 'app /kallithea, isapi.md section 8 example',
    applMdPath: '/LM/W3SVC/1/ROOT/kallithea',
    unencodedUrl: '/kallithea/repo/foo?x=1',
    scriptName: '/kallithea',
    pathInfo: '/repo/foo',
    rawTarget: '/kallithea/repo/foo?x=1',
    query: 'x=1',
  },
  {
    name: 'app at site root',
    applMdPath: '/LM/W3SVC/1/ROOT',
    unencodedUrl: '/repo/foo',
    scriptName: '',
    pathInfo: '/repo/foo',
    rawTarget: '/repo/foo',
    query: '',
  },
  {
    name: 'site root, trailing slash in APPL_MD_PATH',
    applMdPath: '/LM/W3SVC/1/ROOT/',
    unencodedUrl: '/',
    scriptName: '',
    pathInfo: '/',
    rawTarget: '/',
    query: '',
  },
  {
    name: 'URL case differs from the configured app: SCRIPT_NAME keeps the URL case',
    applMdPath: '/LM/W3SVC/2/ROOT/Kallithea',
    unencodedUrl: '/KALLITHEA/Repo',
    scriptName: '/KALLITHEA',
    pathInfo: '/Repo',
    rawTarget: '/KALLITHEA/Repo',
    query: '',
  },
  {
    name: 'APPL_MD_PATH ROOT in lower case',
    applMdPath: '/lm/w3svc/1/root/kallithea',
    unencodedUrl: '/kallithea',
    scriptName: '/kallithea',
    pathInfo: '',
    rawTarget: '/kallithea',
    query: '',
  },
  {
    name: 'a longer name sharing the prefix is not the app',
    applMdPath: '/LM/W3SVC/1/ROOT/kallithea',
    unencodedUrl: '/kallithea2/repo',
    scriptName: '',
    pathInfo: '/kallithea2/repo',
    rawTarget: '/kallithea2/repo',
    query: '',
  },
  {
    name: '%2F decoded in PATH_INFO, kept in the raw target',
    applMdPath: '/LM/W3SVC/1/ROOT/kallithea',
    unencodedUrl: '/kallithea/group%2Frepo/raw/a%20b?x=%2F',
    scriptName: '/kallithea',
    pathInfo: '/group/repo/raw/a b',
    rawTarget: '/kallithea/group%2Frepo/raw/a%20b?x=%2F',
    query: 'x=%2F',
  },
  {
    name: 'percent-encoded UTF-8 decoded as UTF-8',
    applMdPath: '/LM/W3SVC/1/ROOT/kallithea',
    unencodedUrl: '/kallithea/r%C3%A9po/%E6%97%A5',
    scriptName: '/kallithea',
    pathInfo: '/répo/日',
    rawTarget: '/kallithea/r%C3%A9po/%E6%97%A5',
    query: '',
  },
  {
    name: 'raw UTF-8 bytes in the URL',
    applMdPath: '/LM/W3SVC/1/ROOT/kallithea',
    unencodedUrl: bytes('/kallithea/répo?q=ü'),
    scriptName: '/kallithea',
    pathInfo: '/répo',
    rawTarget: bytes('/kallithea/répo?q=ü'),
    query: bytes('q=ü'),
  },
  {
    name: 'bytes that are not UTF-8 fall back to latin1',
    applMdPath: '/LM/W3SVC/1/ROOT',
    unencodedUrl: '/caf%E9',
    scriptName: '',
    pathInfo: '/café',
    rawTarget: '/caf%E9',
    query: '',
  },
  {
    name: 'non-ASCII virtual directory',
    applMdPath: '/LM/W3SVC/1/ROOT/dépôt',
    unencodedUrl: '/D%C3%A9p%C3%B4t/x',
    scriptName: '/Dépôt',
    pathInfo: '/x',
    rawTarget: '/D%C3%A9p%C3%B4t/x',
    query: '',
  },
  {
    name: 'no UNENCODED_URL: HTTP_URL',
    applMdPath: '/LM/W3SVC/1/ROOT/kallithea',
    httpUrl: '/kallithea/a%2Fb?y=2',
    scriptName: '/kallithea',
    pathInfo: '/a/b',
    rawTarget: '/kallithea/a%2Fb?y=2',
    query: 'y=2',
  },
  {
    name: 'neither: URL and QUERY_STRING',
    applMdPath: '/LM/W3SVC/1/ROOT/kallithea',
    url: '/kallithea/repo',
    queryString: 'cmd=capabilities',
    scriptName: '/kallithea',
    pathInfo: '/repo',
    rawTarget: '/kallithea/repo?cmd=capabilities',
    query: 'cmd=capabilities',
  },
  {
    name: 'error-handler form of HTTP_URL (absolute URL after the status)',
    applMdPath: '/LM/W3SVC/1/ROOT/kallithea',
    httpUrl: '/kallithea/kallithea_isapi.dll?404;http://example.org:80/kallithea/repo%2Fx?cmd=heads',
    scriptName: '/kallithea',
    pathInfo: '/repo/x',
    rawTarget: '/kallithea/repo%2Fx?cmd=heads',
    query: 'cmd=heads',
  },
  {
    name: 'error-handler form with a path only',
    applMdPath: '/LM/W3SVC/1/ROOT',
    unencodedUrl: '/kallithea_isapi.dll?500;/repo',
    scriptName: '',
    pathInfo: '/repo',
    rawTarget: '/repo',
    query: '',
  },
  {
    name: 'query string with an encoded question mark and empty value',
    applMdPath: '/LM/W3SVC/1/ROOT/kallithea',
    unencodedUrl: '/kallithea/repo?a=%3F&b=',
    scriptName: '/kallithea',
    pathInfo: '/repo',
    rawTarget: '/kallithea/repo?a=%3F&b=',
    query: 'a=%3F&b=',
  },
];

describe('environ: IIS SCRIPT_NAME/PATH_INFO from APPL_MD_PATH and the raw URL', () => {
  for (const c of cases) {
    it(c.name, () => {
      const params: Record<string, string> = { APPL_MD_PATH: c.applMdPath, REQUEST_METHOD: 'GET' };
      if (c.unencodedUrl !== undefined) params.UNENCODED_URL = c.unencodedUrl;
      if (c.httpUrl !== undefined) params.HTTP_URL = c.httpUrl;
      if (c.url !== undefined) params.URL = c.url;
      if (c.queryString !== undefined) params.QUERY_STRING = c.queryString;
      // IIS's own decoded variables are ANSI-mangled; the builder must not use them when raw ones exist.
      params.PATH_INFO ??= '/mangled?';
      const environ = environFor(params);
      assert.equal(environ.SCRIPT_NAME, c.scriptName);
      assert.equal(environ.PATH_INFO, c.pathInfo);
      assert.equal(environ['kallithea_isapi.raw_target'], c.rawTarget);
      assert.equal(environ.QUERY_STRING, c.query);
    });
  }
});
