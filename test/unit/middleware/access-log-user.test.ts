// The access log names the IIS user readably (CORP\alice, not CORP\x5calice) while a user
// name still cannot forge a line or a field: control bytes and quotes are escaped.
import assert from 'node:assert/strict';
import { formatAccessLine } from '../../../lib/bridge/middleware/access-log/index.js';
import { testEnviron } from '../../support/environ.js';

function userField(user: string): string {
  const line = formatAccessLine(testEnviron({ REMOTE_USER: user, REMOTE_ADDR: '10.0.0.9' }), 200, 0, 1, '');
  return line.split(' ')[2] ?? '';
}

describe('middleware: access-log user field', () => {
  it('keeps a Windows DOMAIN\\user as it is', () => {
    assert.equal(userField('CORP\\alice'), 'CORP\\alice');
  });

  it('escapes line breaks, quotes and other control bytes, and keeps the field one word', () => {
    const field = userField('eve\n2025-01-01T00:00:00.000Z 1.2.3.4 admin "GET /"\x1b');
    assert.ok(![...field].some((ch) => ch < ' ' || ch === '"' || ch === '\x7f'), field);
    assert.equal(field, 'eve\\x0a2025-01-01T00:00:00.000Z_1.2.3.4_admin_\\x22GET_/\\x22\\x1b');
  });

  it('turns the spaces of a name with nothing else to escape into _, and escapes a lone DEL', () => {
    assert.equal(userField('John Smith'), 'John_Smith');
    assert.equal(userField('x\x7f'), 'x\\x7f');
  });

  it('still escapes backslashes in the quoted request field', () => {
    const line = formatAccessLine(testEnviron({ REQUEST_URI: '/a\\"b' }), 200, 0, 1, '');
    assert.match(line, / "GET \/a\\x5c\\x22b" 200 /);
  });
});
