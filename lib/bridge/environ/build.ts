// FastCGI request -> Environ. IIS requests are recognised by APPL_MD_PATH (the DLL always
// sends it); everything else is treated as a CGI-style web server (nginx, cgi-fcgi).
import { performance } from 'node:perf_hooks';
import type { FastCgiRequest } from '../fastcgi/handler.js';
import type { Environ } from './environ.js';
import { headersFromParams, parseAllRaw } from './headers.js';
import { cgiPaths, iisPaths } from './paths.js';

export function buildEnviron(request: Pick<FastCgiRequest, 'params' | 'stdin' | 'signal'>): Environ {
  const params = request.params;
  const param = (name: string): string => params.get(name) ?? '';
  const fromIis = params.has('APPL_MD_PATH');
  const paths = fromIis ? iisPaths(params) : cgiPaths(params);
  const allRaw = params.get('ALL_RAW');
  const parsed = allRaw !== undefined ? parseAllRaw(allRaw) : headersFromParams(params);
  // HTTP_URL is an IIS server variable, not a header.
  if (fromIis && allRaw === undefined) parsed.headers.delete('HTTP_URL');

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
    'wsgi.input': request.stdin,
    'kallithea_isapi.raw_target': paths.rawTarget,
    'kallithea_isapi.signal': request.signal,
    'kallithea_isapi.params': params,
    'kallithea_isapi.started': performance.now(),
  };
  for (const [key, value] of parsed.headers) environ[key] = value;
  return environ;
}
