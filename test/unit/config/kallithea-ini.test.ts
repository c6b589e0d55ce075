// Reading Kallithea's my.ini as configparser does, and the prefix filter against the virtual dir.
import assert from 'node:assert/strict';
import { parseIni } from '../../../lib/config/ini-text.js';
import { kallitheaIniFacts, prefixMismatch } from '../../../lib/config/kallithea-ini.js';

function parseConfigParserIni(text: string) {
  return parseIni(text, 'my.ini', 'configparser').sections;
}

const withFilter =
  '# Kallithea\n[server:main]\nhost = 0.0.0.0\nport: 5000\n\n[app:main]\nuse = egg:kallithea\nfilter-with = proxy-prefix\n' +
  '[filter:proxy-prefix]\nuse = egg:PasteDeploy#prefix\nprefix = /kallithea\n';

describe("Kallithea's my.ini facts", () => {
  it("keeps '#' inside values (egg:PasteDeploy#prefix) and reads 'key: value'", () => {
    const facts = kallitheaIniFacts(parseConfigParserIni(withFilter));
    assert.deepEqual(facts, {
      host: '0.0.0.0',
      port: 5000,
      prefix: '/kallithea',
      prefixSource: '[app:main] filter-with = proxy-prefix',
    });
  });

  it('finds the prefix filter in a pipeline', () => {
    const text =
      '[pipeline:main]\npipeline = proxy-prefix kallithea\n[filter:proxy-prefix]\nuse = egg:PasteDeploy#prefix\nprefix = /k\n';
    assert.equal(kallitheaIniFacts(parseConfigParserIni(text)).prefix, '/k');
  });

  it('compares the prefix with the virtual directory', () => {
    const facts = kallitheaIniFacts(parseConfigParserIni(withFilter));
    assert.equal(prefixMismatch(facts, '/kallithea', 'my.ini'), undefined);
    assert.match(prefixMismatch(facts, '/', 'my.ini') ?? '', /site root/);
    assert.match(prefixMismatch(facts, '/hg', 'my.ini') ?? '', /set prefix = \/hg/);
    const none = kallitheaIniFacts(parseConfigParserIni('[app:main]\nuse = egg:kallithea\n'));
    assert.equal(prefixMismatch(none, '/', 'my.ini'), undefined);
    assert.match(prefixMismatch(none, '/kallithea', 'my.ini') ?? '', /filter-with = proxy-prefix/);
  });
});
