// Line edits of a text file that configure-kallithea changes (my.ini, kallithea-isapi.ini):
// applied to the text, and shown as a unified diff for --dry-run and the report. An edit
// replaces `remove` lines at `at` (0-based, in the original text) with `add`; the edits of
// one change never overlap. Every other line, comment and line ending stays as it was.

export interface LineEdit {
  readonly at: number;
  readonly remove: number;
  readonly add: readonly string[];
}

/** A text split into lines, with the line ending it uses (CRLF if any line has one). */
export interface TextLines {
  readonly lines: string[];
  readonly eol: '\n' | '\r\n';
  /** Whether the text ended with a line ending. */
  readonly finalEol: boolean;
}

export function splitLines(text: string): TextLines {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const finalEol = text.endsWith('\n');
  const lines = text.split(/\r?\n/);
  if (finalEol) lines.pop();
  return { lines, eol, finalEol };
}

function sorted(edits: readonly LineEdit[]): LineEdit[] {
  return [...edits].sort((a, b) => a.at - b.at);
}

export function applyEdits(text: TextLines, edits: readonly LineEdit[]): string {
  const out: string[] = [];
  let next = 0;
  for (const edit of sorted(edits)) {
    out.push(...text.lines.slice(next, edit.at), ...edit.add);
    next = edit.at + edit.remove;
  }
  out.push(...text.lines.slice(next));
  return out.join(text.eol) + (text.finalEol || out.length === 0 ? text.eol : '');
}

const CONTEXT = 3;

/** The edits as a unified diff (3 lines of context), `label` naming the file. */
export function unifiedDiff(text: TextLines, edits: readonly LineEdit[], label: string): string[] {
  const out = [`--- ${label}`, `+++ ${label} (changed)`];
  const ordered = sorted(edits);
  let shift = 0; // new line number minus old line number before the current hunk
  let i = 0;
  while (i < ordered.length) {
    // One hunk: the edits whose context overlaps.
    let last = i;
    while (
      last + 1 < ordered.length &&
      (ordered[last + 1] as LineEdit).at -
        ((ordered[last] as LineEdit).at + (ordered[last] as LineEdit).remove) <=
        2 * CONTEXT
    ) {
      last++;
    }
    const first = ordered[i] as LineEdit;
    const end = ordered[last] as LineEdit;
    const start = Math.max(0, first.at - CONTEXT);
    const stop = Math.min(text.lines.length, end.at + end.remove + CONTEXT);
    const body: string[] = [];
    let oldCount = 0;
    let newCount = 0;
    let line = start;
    for (const edit of ordered.slice(i, last + 1)) {
      for (; line < edit.at; line++, oldCount++, newCount++) body.push(` ${text.lines[line]}`);
      for (let r = 0; r < edit.remove; r++, line++, oldCount++) body.push(`-${text.lines[line]}`);
      for (const added of edit.add) {
        body.push(`+${added}`);
        newCount++;
      }
    }
    for (; line < stop; line++, oldCount++, newCount++) body.push(` ${text.lines[line]}`);
    const oldStart = oldCount === 0 ? start : start + 1;
    const newStart = newCount === 0 ? start + shift : start + shift + 1;
    out.push(`@@ -${oldStart},${oldCount} +${newStart},${newCount} @@`, ...body);
    shift += newCount - oldCount;
    i = last + 1;
  }
  return out;
}
