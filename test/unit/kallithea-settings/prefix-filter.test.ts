// The prefix filter configure-kallithea puts into my.ini for a virtual directory: each shape
// of my.ini it meets, the edits it makes (applied, then read back by the same reader check and
// serve use), and the cases it leaves to the administrator.
import assert from 'node:assert/strict';
import { kallitheaIniFacts } from '../../../lib/config/kallithea-ini.js';
import { parseIni } from '../../../lib/config/ini-text.js';
import { prefixFilterChange } from '../../../lib/kallithea-settings/prefix-filter.js';
import { applyEdits, splitLines } from '../../../lib/kallithea-settings/text-edits.js';

/** The prefix my.ini gives Kallithea after the change, as check and serve read it. */
function changed(text: string, virtualDir: string): { after: string; prefix: string | undefined } {
  const lines = splitLines(text);
  const change = prefixFilterChange(lines, 'my.ini', virtualDir);
  assert.equal(change.status, 'change', change.detail);
  if (change.status !== 'change') throw new Error('unreachable');
  const after = applyEdits(lines, change.edits);
  // A second look finds nothing left to do.
  assert.equal(prefixFilterChange(splitLines(after), 'my.ini', virtualDir).status, 'already set');
  return { after, prefix: kallitheaIniFacts(parseIni(after, 'my.ini', 'configparser').sections).prefix };
}

const template = [
  '[server:main]',
  'port = 5000',
  '',
  '## prefix middleware for Kallithea',
  '#[filter:proxy-prefix]',
  '#use = egg:PasteDeploy#prefix',
  '#prefix = /<your-prefix>',
  '',
  '[app:main]',
  'use = egg:kallithea',
  '## enable proxy prefix middleware',
  '#filter-with = proxy-prefix',
  'full_stack = true',
  '',
  '[logger_root]',
  'level = NOTSET',
  '',
].join('\r\n');

describe('configure-kallithea: the prefix filter in my.ini', () => {
  it("adds the filter under a virtual directory, using config-create's commented line, keeping CRLF", () => {
    const { after, prefix } = changed(template, '/kallithea');
    assert.equal(prefix, '/kallithea');
    assert.match(after, /\r\n## enable proxy prefix middleware\r\nfilter-with = proxy-prefix\r\nfull_stack/);
    assert.match(
      after,
      /\[filter:proxy-prefix\]\r\nuse = egg:PasteDeploy#prefix\r\nprefix = \/kallithea\r\n/,
    );
    assert.doesNotMatch(after, /[^\r]\n/);
    // Everything else is as it was.
    assert.ok(
      after.includes('#prefix = /<your-prefix>\r\n') && after.includes('[logger_root]\r\nlevel = NOTSET'),
    );
  });

  it('adds filter-with after [app:main] when there is no commented line', () => {
    const { after, prefix } = changed('[app:main]\nuse = egg:kallithea\n', '/scm/kallithea');
    assert.equal(prefix, '/scm/kallithea');
    assert.match(after, /^\[app:main\]\nfilter-with = proxy-prefix\nuse = egg:kallithea\n$/m);
  });

  it("sets another prefix in the filter that is in use, whatever it's called", () => {
    const text =
      '[app:main]\nuse = egg:kallithea\nfilter-with = pre\n\n[filter:pre]\nuse = egg:PasteDeploy#prefix\nprefix = /old\n';
    const { after, prefix } = changed(text, '/new');
    assert.equal(prefix, '/new');
    assert.match(after, /\[filter:pre\]\nuse = egg:PasteDeploy#prefix\nprefix = \/new\n$/);
  });

  it('takes the filter out of [app:main] at the site root, keeping its section', () => {
    const text =
      '[app:main]\nuse = egg:kallithea\nfilter-with = proxy-prefix\n[filter:proxy-prefix]\nuse = egg:PasteDeploy#prefix\nprefix = /kallithea\n';
    const { after, prefix } = changed(text, '/');
    assert.equal(prefix, undefined);
    assert.match(after, /^#filter-with = proxy-prefix$/m);
  });

  it('finds nothing to do when my.ini already fits', () => {
    assert.equal(prefixFilterChange(splitLines(template), 'my.ini', '/').status, 'already set');
    const withFilter =
      '[app:main]\nfilter-with = p\n[filter:p]\nuse = egg:PasteDeploy#prefix\nprefix = /k/\n';
    assert.equal(prefixFilterChange(splitLines(withFilter), 'my.ini', '/k').status, 'already set');
  });

  it('leaves another filter chain or a pipeline to the administrator', () => {
    for (const text of [
      '[app:main]\nuse = egg:kallithea\nfilter-with = gzip\n[filter:gzip]\nuse = egg:Paste#gzip\n',
      '[pipeline:main]\npipeline = gzip kallithea\n[app:main]\nuse = egg:kallithea\n',
      '[server:main]\nport = 5000\n',
    ]) {
      const change = prefixFilterChange(splitLines(text), 'my.ini', '/kallithea');
      assert.equal(change.status, 'manual', text);
    }
  });
});
