// Authentication emulation: Basic credentials from a users file stand in for Windows
// authentication (AUTH_TYPE Negotiate, DOMAIN\user); 401 with a Basic challenge
// otherwise; with anonymousFallback (IIS: Windows + anonymous enabled) unknown
// credentials pass anonymously and the Authorization header reaches the extension.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  fetchBuffer,
  startHost,
  variableValue,
  type RunningHost,
  type VariableReport,
} from './support/harness.js';

const basic = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const names = 'AUTH_TYPE,AUTH_USER,LOGON_USER,REMOTE_USER,UNMAPPED_REMOTE_USER,HTTP_AUTHORIZATION';

describe('isapi-host authentication emulation', () => {
  let dir: string;
  let usersFile: string;
  let strict: RunningHost;
  let fallback: RunningHost;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'isapi-host-auth-'));
    usersFile = join(dir, 'users');
    writeFileSync(usersFile, '# test users\nalice:s3cret\nbob:pa:ss\n');
    strict = await startHost('variables', { auth: { mode: 'basic', usersFile, domain: 'EXAMPLE' } });
    fallback = await startHost('variables', { auth: { mode: 'basic', usersFile, anonymousFallback: true } });
  });
  after(async () => {
    await strict.stop();
    await fallback.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function report(running: RunningHost, authorization?: string): Promise<VariableReport> {
    const headers: Record<string, string> = { 'X-Var-Names': names };
    if (authorization !== undefined) headers['Authorization'] = authorization;
    const response = await fetchBuffer(running.url('/kallithea/'), { headers });
    assert.equal(response.status, 200);
    return JSON.parse(response.body.toString()) as VariableReport;
  }

  it('a known user is a Windows logon: Negotiate and DOMAIN\\user', async () => {
    const r = await report(strict, basic('alice', 's3cret'));
    assert.equal(variableValue(r, 'AUTH_TYPE'), 'Negotiate');
    for (const name of ['AUTH_USER', 'LOGON_USER', 'REMOTE_USER', 'UNMAPPED_REMOTE_USER']) {
      assert.equal(variableValue(r, name), 'EXAMPLE\\alice', name);
    }
  });

  it('passwords may contain colons', async () => {
    assert.equal(variableValue(await report(strict, basic('bob', 'pa:ss')), 'AUTH_USER'), 'EXAMPLE\\bob');
  });

  it('no or wrong credentials get 401 with a Basic challenge', async () => {
    for (const authorization of [undefined, basic('alice', 'wrong'), basic('mallory', 'x')]) {
      const headers: Record<string, string> =
        authorization === undefined ? {} : { Authorization: authorization };
      const response = await fetchBuffer(strict.url('/kallithea/'), { headers });
      assert.equal(response.status, 401);
      assert.match(String(response.headers['www-authenticate']), /^Basic realm="/);
    }
  });

  it('anonymousFallback: unknown credentials pass anonymously with Authorization untouched', async () => {
    const authorization = basic('kallithea-user', 'kallithea-password');
    const r = await report(fallback, authorization);
    assert.equal(variableValue(r, 'AUTH_TYPE'), '');
    assert.equal(variableValue(r, 'AUTH_USER'), '');
    assert.equal(variableValue(r, 'HTTP_AUTHORIZATION'), authorization);
  });

  it('anonymousFallback: a known user is still logged on (default domain CORP)', async () => {
    assert.equal(
      variableValue(await report(fallback, basic('alice', 's3cret')), 'REMOTE_USER'),
      'CORP\\alice',
    );
  });
});
