// The prefix filter in my.ini for a virtual directory (kallithea.md section 4): Kallithea
// builds its links from SCRIPT_NAME, which an HTTP hop cannot carry, so under /kallithea
// [app:main] needs `filter-with = proxy-prefix` and a [filter:proxy-prefix] section using
// PasteDeploy's prefix filter with that prefix; at the site root there must be none. What
// lib/config/kallithea-ini.ts's prefixMismatch() reports, made as line edits of my.ini.
import { parseIni } from '../config/ini-text.js';
import { kallitheaIniFacts } from '../config/kallithea-ini.js';
import { sectionLines } from './ini-lines.js';
import type { LineEdit, TextLines } from './text-edits.js';

/** What one setting kept in a file needs: nothing, these edits, or the administrator. */
export type FileChange =
  | { readonly status: 'already set'; readonly detail: string }
  | { readonly status: 'change'; readonly detail: string; readonly edits: LineEdit[] }
  | { readonly status: 'manual'; readonly detail: string };

const FILTER = 'proxy-prefix';

function isPrefixFilter(section: Record<string, string> | undefined): boolean {
  return /^egg:PasteDeploy#prefix$/i.test((section?.use ?? '').replace(/\s+/g, ''));
}

/** Normalised prefix: undefined for none (empty or '/'), no trailing slash. */
function prefixOf(value: string | undefined): string | undefined {
  if (value === undefined || value === '' || value === '/') return undefined;
  return value.replace(/\/+$/, '');
}

export function prefixFilterChange(text: TextLines, file: string, virtualDir: string): FileChange {
  const { sections } = parseIni(text.lines.join('\n'), file, 'configparser');
  const where = sectionLines(text.lines, 'configparser');
  const facts = kallitheaIniFacts(sections);
  const wanted = virtualDir === '/' ? undefined : virtualDir.replace(/\/+$/, '');
  const have = prefixOf(facts.prefix);
  const app = where.get('app:main');
  if (app === undefined) return { status: 'manual', detail: `${file} has no [app:main] section` };

  if (wanted === have) {
    return {
      status: 'already set',
      detail: wanted === undefined ? 'no prefix filter, as the site root needs' : `prefix = ${wanted}`,
    };
  }
  const filterWith = sections['app:main']?.['filter-with']?.trim();
  const filterWithLine = app.keys.get('filter-with');
  if (wanted === undefined) {
    // A filter with a prefix at the site root: take it out of [app:main], keep the section.
    if (facts.prefixSource?.startsWith('[app:main]') !== true || filterWithLine === undefined) {
      return {
        status: 'manual',
        detail: `remove the prefix filter from ${facts.prefixSource ?? 'the pipeline'}: IIS serves Kallithea at the site root`,
      };
    }
    return {
      status: 'change',
      detail: `prefix filter taken out (was ${facts.prefix}): IIS serves Kallithea at the site root`,
      edits: [{ at: filterWithLine, remove: 1, add: [`#${text.lines[filterWithLine]}`] }],
    };
  }

  // A prefix filter in use with another prefix: set its prefix.
  const filterName = facts.prefixSource?.startsWith('[app:main]') === true ? filterWith : undefined;
  const inUse = filterName ?? pipelineFilter(sections);
  if (facts.prefix !== undefined && inUse !== undefined) {
    const section = where.get(`filter:${inUse}`);
    if (section === undefined)
      return { status: 'manual', detail: `set prefix = ${wanted} in [filter:${inUse}]` };
    const prefixLine = section.keys.get('prefix');
    const line = `prefix = ${wanted}`;
    return {
      status: 'change',
      detail: `prefix = ${wanted} in [filter:${inUse}] (was ${facts.prefix || 'empty'})`,
      edits:
        prefixLine === undefined
          ? [{ at: section.last + 1, remove: 0, add: [line] }]
          : [{ at: prefixLine, remove: 1, add: [line] }],
    };
  }
  // No prefix filter: add one, unless [app:main] already has another filter or a pipeline
  // decides the app (chaining filters is the administrator's design to make).
  if (filterWith !== undefined || sections['pipeline:main'] !== undefined) {
    return {
      status: 'manual',
      detail:
        `add PasteDeploy's prefix filter with prefix = ${wanted} to ` +
        (filterWith !== undefined
          ? `the filter chain of [app:main] (filter-with = ${filterWith})`
          : '[pipeline:main]'),
    };
  }
  if (sections[`filter:${FILTER}`] !== undefined && !isPrefixFilter(sections[`filter:${FILTER}`])) {
    return {
      status: 'manual',
      detail: `[filter:${FILTER}] exists and is another filter: add the prefix filter`,
    };
  }
  const existing = where.get(`filter:${FILTER}`);
  // Kallithea's config-create template has the line, commented out, in [app:main].
  const appEnd = text.lines.findIndex((l, i) => i > app.header && /^\s*\[/.test(l));
  const commented = text.lines.findIndex(
    (l, i) =>
      i > app.header && (appEnd < 0 || i < appEnd) && /^[#;]\s*filter-with\s*=\s*proxy-prefix\s*$/.test(l),
  );
  const edits: LineEdit[] = [
    commented >= 0
      ? { at: commented, remove: 1, add: [`filter-with = ${FILTER}`] }
      : { at: app.header + 1, remove: 0, add: [`filter-with = ${FILTER}`] },
  ];
  if (existing === undefined) {
    edits.push({
      at: app.header,
      remove: 0,
      add: [
        '# Kallithea under the IIS virtual directory (kallithea-isapi configure-kallithea)',
        `[filter:${FILTER}]`,
        'use = egg:PasteDeploy#prefix',
        `prefix = ${wanted}`,
        'translate_forwarded_server = false',
        '',
      ],
    });
  } else {
    const prefixLine = existing.keys.get('prefix');
    edits.push(
      prefixLine === undefined
        ? { at: existing.last + 1, remove: 0, add: [`prefix = ${wanted}`] }
        : { at: prefixLine, remove: 1, add: [`prefix = ${wanted}`] },
    );
  }
  return { status: 'change', detail: `prefix filter added with prefix = ${wanted}`, edits };
}

function pipelineFilter(sections: Record<string, Record<string, string>>): string | undefined {
  const pipeline = sections['pipeline:main']?.pipeline;
  return pipeline?.split(/\s+/).find((name) => isPrefixFilter(sections[`filter:${name}`]));
}
