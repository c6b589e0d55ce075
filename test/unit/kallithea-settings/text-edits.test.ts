// Line edits and the unified diff configure-kallithea shows: the diff, applied by patch(1)'s
// rules (here: a small applier that checks every context and removed line), gives exactly the
// edited text, with hunks merged when their context overlaps.
import assert from 'node:assert/strict';
import {
  applyEdits,
  type LineEdit,
  splitLines,
  unifiedDiff,
} from '../../../lib/kallithea-settings/text-edits.js';

/** Applies a unified diff to lines, checking each context and removed line. */
function patch(lines: string[], diff: string[]): string[] {
  const out: string[] = [];
  let next = 0;
  for (let i = 2; i < diff.length;) {
    const header = /^@@ -(\d+),(\d+) \+(\d+),(\d+) @@$/.exec(diff[i] as string);
    assert.ok(header !== null, diff[i]);
    const oldStart = Number(header[1]) - (Number(header[2]) === 0 ? 0 : 1);
    out.push(...lines.slice(next, oldStart));
    assert.equal(Number(header[3]) - (Number(header[4]) === 0 ? 0 : 1), out.length, 'new start');
    next = oldStart;
    for (i++; i < diff.length && !(diff[i] as string).startsWith('@@'); i++) {
      const line = diff[i] as string;
      if (line.startsWith('+')) out.push(line.slice(1));
      else {
        assert.equal(lines[next], line.slice(1), `line ${next + 1}`);
        if (line.startsWith(' ')) out.push(line.slice(1));
        next++;
      }
    }
  }
  return [...out, ...lines.slice(next)];
}

describe('configure-kallithea: line edits and their diff', () => {
  const text = splitLines(Array.from({ length: 30 }, (_, i) => `line ${i + 1}`).join('\n') + '\n');
  const cases: Record<string, LineEdit[]> = {
    'one insertion': [{ at: 4, remove: 0, add: ['new a', 'new b'] }],
    'a replacement at the start': [{ at: 0, remove: 1, add: ['first'] }],
    'an insertion at the end': [{ at: 30, remove: 0, add: ['last'] }],
    'two edits sharing context': [
      { at: 10, remove: 1, add: ['x'] },
      { at: 14, remove: 0, add: ['y', 'z'] },
    ],
    'two hunks, given out of order': [
      { at: 25, remove: 2, add: [] },
      { at: 2, remove: 0, add: ['early'] },
    ],
  };
  for (const [name, edits] of Object.entries(cases)) {
    it(`${name}: the diff applied gives the edited text`, () => {
      const edited = applyEdits(text, edits);
      const diff = unifiedDiff(text, edits, 'my.ini');
      assert.deepEqual(patch(text.lines, diff), splitLines(edited).lines);
      if (name === 'two edits sharing context')
        assert.equal(diff.filter((l) => l.startsWith('@@')).length, 1);
      if (name === 'two hunks, given out of order')
        assert.equal(diff.filter((l) => l.startsWith('@@')).length, 2);
    });
  }

  it('keeps CRLF and a missing final line ending', () => {
    const crlf = splitLines('a\r\nb');
    assert.equal(applyEdits(crlf, [{ at: 1, remove: 0, add: ['x'] }]), 'a\r\nx\r\nb');
  });
});
