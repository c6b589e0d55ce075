// FastCGI request -> Environ. IIS requests are recognised by APPL_MD_PATH (the DLL always
// sends it); everything else is treated as a CGI-style web server (nginx, cgi-fcgi).
import { performance } from 'node:perf_hooks';
import type { FastCgiRequest } from '../fastcgi/handler.js';
import { defaultHeaderPolicy, type HeaderPolicy } from '../headers/policy.js';
import type { Environ } from './environ.js';
import { cgiPaths, iisPaths } from './paths.js';

/** `policy` decides which request headers reach the environ (headers/policy.ts). */
export function buildEnviron(
  request: Pick<FastCgiRequest, 'params' | 'stdin' | 'stdinEmpty' | 'abort'>,
  policy: HeaderPolicy = defaultHeaderPolicy,
): Environ {
  const params = request.params;
  const param = (name: string): string => params.get(name) ?? '';
  const fromIis = params.has('APPL_MD_PATH');
  const paths = fromIis ? iisPaths(params) : cgiPaths(params);
  const allRaw = params.get('ALL_RAW');
  const parsed = allRaw !== undefined ? policy.fromAllRaw(allRaw) : policy.fromParams(params, fromIis);

  const contentLength = param('CONTENT_LENGTH').trim();
  const environ: Environ = {
    REQUEST_METHOD: param('REQUEST_METHOD') || 'GET',
    SCRIPT_NAME: paths.scriptName,
    PATH_INFO: paths.pathInfo,
    QUERY_STRING: paths.queryString,
    CONTENT_TYPE: param('CONTENT_TYPE') || (parsed.contentType ?? ''),
    CONTENT_LENGTH: /^\d+$/.test(contentLength) ? contentLength : '',
    SERVER_NAME: param('SERVER_NAME'),
    SERVER_PORT: param('SERVER_PORT'),
    SERVER_PROTOCOL: param('SERVER_PROTOCOL') || 'HTTP/1.1',
    REMOTE_ADDR: param('REMOTE_ADDR'),
    REMOTE_PORT: param('REMOTE_PORT'),
    REMOTE_USER: param('REMOTE_USER'),
    AUTH_USER: param('AUTH_USER'),
    AUTH_TYPE: param('AUTH_TYPE'),
    'wsgi.url_scheme': /^on$/i.test(param('HTTPS').trim()) ? 'https' : 'http',
    // Plain data properties only: an accessor in this literal cost ~10 us per request.
    'wsgi.input': request.stdin,
    'kallithea_isapi.input_empty': request.stdinEmpty,
    'kallithea_isapi.raw_target': paths.rawTarget,
    'kallithea_isapi.abort': request.abort,
    'kallithea_isapi.params': params,
    'kallithea_isapi.started': performance.now(),
  };
  if (parsed.invalid !== undefined) environ['kallithea_isapi.invalid'] = parsed.invalid;
  for (const [key, value] of parsed.headers) environ[key] = value;
  return environ;
}
