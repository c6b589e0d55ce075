// The status snapshot for people: the same sections as an HTML page (the browser) and as
// plain text (`kallithea-isapi status`). Both come from describe(), so they show the same.
import type { StatusSnapshot } from './snapshot.js';

interface Section {
  readonly title: string;
  readonly rows: Array<[label: string, value: string]>;
  /** A table after the rows: header, then lines. */
  readonly table?: { readonly head: string[]; readonly lines: string[][] };
}

function duration(seconds: number): string {
  const s = Math.round(seconds);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return (d > 0 ? `${d}d ` : '') + (d > 0 || h > 0 ? `${h}h ` : '') + `${m}m ${s % 60}s`;
}

function counts(byStatus: Record<string, number>): string {
  const entries = Object.entries(byStatus);
  return entries.length === 0 ? 'none' : entries.map(([status, n]) => `${status}: ${n}`).join(', ');
}

export function describe(s: StatusSnapshot): Section[] {
  const sections: Section[] = [];
  const dll = s.dll;
  sections.push({
    title: 'ISAPI extension (DLL)',
    rows:
      dll === null
        ? [['figures', s.dllProblem ?? 'not reported (the request did not come through the DLL)']]
        : [
            ['version', dll.version],
            ['uptime', duration(dll.uptimeSeconds)],
            ['mode', dll.mode],
            ['requests in flight', `${dll.requestsInFlight} (not counting this one)`],
            ['requests queued for a bridge connection', `${dll.requestsQueued} (at most ${dll.maxQueued})`],
            [
              'pooled bridge connections',
              `${dll.connections} open, ${dll.idleConnections} idle (at most ${dll.maxConnections})`,
            ],
            ['bridge', dll.bridgeState],
            ['bridge restarts', String(dll.bridgeRestarts)],
            [
              'last failure',
              dll.lastFailure === null ? 'none' : `${dll.lastFailure.at} ${dll.lastFailure.message}`,
            ],
          ],
  });
  const b = s.bridge;
  sections.push({
    title: 'Bridge host',
    rows: [
      ['version', `${b.version} (Node.js ${b.node}, pid ${b.pid})`],
      ['uptime', duration(b.uptimeSeconds)],
      ['requests in flight', `${b.requestsInFlight} (not counting this one)`],
      ['errors by status', counts(b.errorsByStatus)],
      ['responses by status', counts(b.responsesByStatus)],
      ['Kallithea', b.kallithea === 'workers' ? "the bridge's worker processes" : b.kallithea],
      [
        'upstream',
        `${b.upstream.inFlight} in flight, ${b.upstream.queued} queued, ${b.upstream.connections} ` +
          `${b.kallithea === 'workers' ? 'ready workers' : 'connections'}, ${b.upstream.idleConnections} idle ` +
          `(at most ${b.upstream.maxConnections})`,
      ],
    ],
    ...(b.workers.length === 0
      ? {}
      : {
          table: {
            head: ['worker', 'state', 'pid', 'busy', 'restarts', 'last failure'],
            lines: b.workers.map((w) => [
              w.extra ? `${w.name} (extra)` : w.name,
              w.state,
              w.pid === null ? '-' : String(w.pid),
              w.busy ? 'yes' : 'no',
              String(w.restarts),
              w.lastFailure ?? '-',
            ]),
          },
        }),
  });
  return sections;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

export function renderHtml(s: StatusSnapshot): string {
  const cell = (tag: string, text: string): string => `<${tag}>${escapeHtml(text)}</${tag}>`;
  const parts = describe(s).map((section) => {
    const rows = section.rows.map(([label, value]) => `<tr>${cell('th', label)}${cell('td', value)}</tr>`);
    const table =
      section.table === undefined
        ? ''
        : `<table class="list"><tr>${section.table.head.map((h) => cell('th', h)).join('')}</tr>` +
          section.table.lines.map((line) => `<tr>${line.map((v) => cell('td', v)).join('')}</tr>`).join('') +
          '</table>';
    return `<h2>${escapeHtml(section.title)}</h2><table>${rows.join('')}</table>${table}`;
  });
  return (
    '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>kallithea-isapi status</title>' +
    '<style>body{font-family:sans-serif;margin:2em}th{text-align:left;padding-right:2em;font-weight:normal;color:#555}' +
    'table.list th{font-weight:bold;color:inherit}td,th{padding:2px 8px 2px 0;vertical-align:top}</style></head><body>' +
    `<h1>kallithea-isapi status</h1><p>${escapeHtml(s.generatedAt)} &middot; also as ` +
    '<a href="?format=json">JSON</a> and <a href="?format=prometheus">Prometheus text</a></p>' +
    `${parts.join('\n')}\n</body></html>\n`
  );
}

export function renderText(s: StatusSnapshot): string {
  const out: string[] = [`kallithea-isapi status at ${s.generatedAt}`];
  for (const section of describe(s)) {
    out.push('', section.title);
    const width = Math.max(...section.rows.map(([label]) => label.length));
    for (const [label, value] of section.rows) out.push(`  ${label.padEnd(width)}  ${value}`);
    if (section.table !== undefined) {
      const all = [section.table.head, ...section.table.lines];
      const widths = section.table.head.map((_h, i) =>
        Math.max(...all.map((line) => (line[i] ?? '').length)),
      );
      for (const line of all)
        out.push(`  ${line.map((v, i) => v.padEnd(widths[i] ?? 0)).join('  ')}`.trimEnd());
    }
  }
  return `${out.join('\n')}\n`;
}
