// The bridge's secret user header in kallithea-isapi.ini: where the line goes for each shape of
// the file, read back by the reader the bridge uses, and the header names it makes.
import assert from 'node:assert/strict';
import { checkBridgeSection } from '../../../lib/config/bridge-section.js';
import { parseIni } from '../../../lib/config/ini-text.js';
import { applyEdits, splitLines } from '../../../lib/kallithea-settings/text-edits.js';
import {
  environKey,
  isSecretHeader,
  newSecretHeader,
  userHeaderChange,
} from '../../../lib/kallithea-settings/user-header.js';

function withHeader(text: string, header: string): string {
  const lines = splitLines(text);
  const current = parseIni(text, 'k.ini', 'kallithea-isapi').sections.bridge?.user_header;
  const change = userHeaderChange(lines, header, current);
  assert.equal(change.status, 'change');
  if (change.status !== 'change') throw new Error('unreachable');
  assert.doesNotMatch(change.detail, new RegExp(header));
  const after = applyEdits(lines, change.edits);
  const { settings, problems } = checkBridgeSection(
    'k.ini',
    parseIni(after, 'k.ini', 'kallithea-isapi').sections.bridge,
  );
  assert.deepEqual(problems, []);
  assert.equal(settings.userHeader, header);
  return after;
}

describe('configure-kallithea: the secret user header', () => {
  it('makes 128-bit header names the bridge accepts, different each time', () => {
    const a = newSecretHeader();
    const b = newSecretHeader();
    assert.notEqual(a, b);
    assert.ok(isSecretHeader(a) && isSecretHeader(b));
    assert.equal(isSecretHeader('X-Forwarded-User'), false);
    assert.match(a, /^X-Kallithea-User-[0-9a-f]{32}$/);
    assert.equal(environKey('X-Kallithea-User-ab12'), 'HTTP_X_KALLITHEA_USER_AB12');
  });

  it("replaces install's commented-out line, the key itself, or adds it to [bridge]", () => {
    const header = newSecretHeader();
    const installed =
      '[isapi]\nmode = spawn\n\n[bridge]\nkallithea_config = my.ini\n;upstream = x\n;user_header = X-Forwarded-User\n;access_log = -\n';
    assert.equal(
      withHeader(installed, header),
      installed.replace(';user_header = X-Forwarded-User', `user_header = ${header}`),
    );
    const set = '[bridge]\r\nuser_header = X-Forwarded-User\r\n[isapi]\r\n;user_header = no\r\n';
    assert.equal(withHeader(set, header), set.replace('X-Forwarded-User', header));
    assert.equal(
      withHeader('[bridge]\nworkers = 2\n', header),
      `[bridge]\nuser_header = ${header}\nworkers = 2\n`,
    );
    assert.equal(
      withHeader('[isapi]\nmode = spawn\n', header),
      `[isapi]\nmode = spawn\n\n[bridge]\nuser_header = ${header}\n`,
    );
  });

  it('finds nothing to do when the file has the header', () => {
    const header = newSecretHeader();
    const text = `[bridge]\nuser_header = ${header}\n`;
    assert.equal(userHeaderChange(splitLines(text), header, header).status, 'already set');
  });
});
