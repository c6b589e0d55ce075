// The header the bridge asserts the IIS user in, made secret. Kallithea's workers listen on
// loopback, where any local process can send `X-Forwarded-User: admin`; Kallithea's container
// plugin cannot tell the bridge from them. With a random header name, known only to
// kallithea-isapi.ini ([bridge] user_header) and Kallithea's database, a local process cannot
// name the header Kallithea believes; the bridge drops client copies of it
// (lib/bridge/headers/policy.ts). 128 random bits, as the bridge's other secrets.
import { randomBytes } from 'node:crypto';
import { sectionLines } from './ini-lines.js';
import type { FileChange } from './prefix-filter.js';
import type { LineEdit, TextLines } from './text-edits.js';

const SECRET_HEADER = /^X-Kallithea-User-[0-9a-f]{32}$/;

export function newSecretHeader(): string {
  return `X-Kallithea-User-${randomBytes(16).toString('hex')}`;
}

/** Whether a header name is one newSecretHeader() made (and so not a well-known name). */
export function isSecretHeader(header: string): boolean {
  return SECRET_HEADER.test(header);
}

/** The WSGI environ key Kallithea sees a header as: X-Forwarded-User -> HTTP_X_FORWARDED_USER. */
export function environKey(header: string): string {
  return `HTTP_${header.toUpperCase().replace(/-/g, '_')}`;
}

/**
 * `[bridge] user_header = header` in kallithea-isapi.ini: the key's line replaced, else the
 * commented-out `;user_header = ...` install writes, else a new line after `[bridge]`.
 */
export function userHeaderChange(text: TextLines, header: string, current: string | undefined): FileChange {
  const line = `user_header = ${header}`;
  // No secret in the report: it names the key, never the value.
  const detail = '[bridge] user_header = a new random header name';
  if (current === header)
    return { status: 'already set', detail: '[bridge] user_header is a secret header name' };
  const bridge = sectionLines(text.lines, 'kallithea-isapi').get('bridge');
  let edit: LineEdit;
  if (bridge === undefined) {
    edit = { at: text.lines.length, remove: 0, add: ['', '[bridge]', line] };
  } else {
    const set = bridge.keys.get('user_header');
    const next = text.lines.findIndex((l, i) => i > bridge.header && /^\s*\[/.test(l));
    const end = next < 0 ? text.lines.length : next;
    const commented = text.lines.findIndex(
      (l, i) => i > bridge.header && i < end && /^\s*[;#]\s*user_header\s*=/.test(l),
    );
    if (set !== undefined) edit = { at: set, remove: 1, add: [line] };
    else if (commented >= 0) edit = { at: commented, remove: 1, add: [line] };
    else edit = { at: bridge.header + 1, remove: 0, add: [line] };
  }
  return { status: 'change', detail, edits: [edit] };
}
