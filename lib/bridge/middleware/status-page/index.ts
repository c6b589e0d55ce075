// The status page at STATUS_PATH (status/status-path.ts), answered by the bridge itself and
// never forwarded: HTML by default, ?format=json for the snapshot, ?format=prometheus for the
// Prometheus text format. Only the local machine and the Windows users of [status] users may
// see it (status/access.ts); everyone else gets 403, and the refusal is logged. The DLL's
// figures come in the request's KALLITHEA_ISAPI_DLL_STATUS param.
import type { Environ } from '../../environ/environ.js';
import { hooked, type HookedMiddleware } from '../../pipeline/hooks.js';
import type { Body, ResponseHeaders, StartResponse } from '../../pipeline/types.js';
import { bodyOf } from '../../pipeline/types.js';
import { statusAccess } from '../../status/access.js';
import { readDllFigures } from '../../status/dll-figures.js';
import { prometheusText } from '../../status/metrics.js';
import { renderHtml } from '../../status/render.js';
import { takeSnapshot, type StatusSources } from '../../status/snapshot.js';
import { DLL_STATUS_PARAM, STATUS_PATH } from '../../status/status-path.js';

export interface StatusPageOptions {
  readonly sources: StatusSources;
  /** Windows users who may see the page from anywhere ([status] users). */
  readonly users: readonly string[];
  readonly log: (line: string) => void;
}

const COMMON: ResponseHeaders = [
  ['Cache-Control', 'no-store'],
  ['X-Content-Type-Options', 'nosniff'],
];

function format(query: string): 'html' | 'json' | 'prometheus' | undefined {
  const value = new URLSearchParams(query).get('format');
  if (value === null || value === 'html') return 'html';
  return value === 'json' || value === 'prometheus' ? value : undefined;
}

/**
 * A hook that answers its own path and passes every other request on: fused with its hooked
 * neighbours (pipeline/hooks.ts), it costs the requests it does not answer a comparison
 * rather than a layer of its own (an async frame and a promise each).
 */
export function statusPage(options: StatusPageOptions): HookedMiddleware {
  return hooked({
    name: 'statusPage',
    answer: (environ, startResponse) =>
      environ.PATH_INFO === STATUS_PATH ? statusAnswer(environ, startResponse, options) : undefined,
  });
}

async function statusAnswer(
  environ: Environ,
  startResponse: StartResponse,
  options: StatusPageOptions,
): Promise<Body> {
  const answer = (status: number, type: string, text: string, extra: ResponseHeaders = []): Body => {
    const body = Buffer.from(text);
    startResponse(status, [
      ['Content-Type', type],
      ['Content-Length', String(body.length)],
      ...COMMON,
      ...extra,
    ]);
    return environ.REQUEST_METHOD === 'HEAD' ? bodyOf() : bodyOf(body);
  };
  const access = statusAccess(environ, options.users);
  if (!access.allowed) {
    options.log(`status page refused (403): ${access.why}`);
    return answer(
      403,
      'text/plain; charset=utf-8',
      '403 Forbidden: the status page is for the local machine and the users of [status] users in kallithea-isapi.ini\n',
    );
  }
  if (environ.REQUEST_METHOD !== 'GET' && environ.REQUEST_METHOD !== 'HEAD') {
    return answer(405, 'text/plain; charset=utf-8', '405 Method Not Allowed: use GET\n', [
      ['Allow', 'GET, HEAD'],
    ]);
  }
  const wanted = format(environ.QUERY_STRING);
  if (wanted === undefined) {
    return answer(400, 'text/plain; charset=utf-8', '400 Bad Request: format is html, json or prometheus\n');
  }
  const snapshot = takeSnapshot(
    options.sources,
    readDllFigures(environ['kallithea_isapi.params'].get(DLL_STATUS_PARAM)),
  );
  if (wanted === 'json') {
    return answer(200, 'application/json; charset=utf-8', `${JSON.stringify(snapshot, null, 2)}\n`);
  }
  if (wanted === 'prometheus') {
    const { text, contentType } = await prometheusText(snapshot);
    return answer(200, contentType, text);
  }
  return answer(200, 'text/html; charset=utf-8', renderHtml(snapshot), [
    ['Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'"],
  ]);
}
