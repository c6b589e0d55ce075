// Behind an HTTPS front (serve with a test certificate, as IIS with a TLS binding) Kallithea
// knows the scheme: the bridge tells its workers in X-Kallithea-Isapi (with their token), the
// worker sets wsgi.url_scheme, and Kallithea's clone URLs and redirects say https://.
// Kallithea 0.7.0's own url_scheme_variable cannot be used (it fails to start), and a
// client's X-Forwarded-Proto is never believed (the header policy drops it).
import { strict as assert } from 'node:assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accounts, kallithea, spawnExtraServe, type ExtraServe } from '../support/kallithea.js';
import { makeTestCertificate } from '../support/test-certificate.js';
import { basic } from './support/http.js';

interface Answer {
  status: number;
  location: string | undefined;
  body: string;
}

function get(url: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, rejectUnauthorized: false }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('Kallithea behind HTTPS: clone URLs and redirects say https://', function () {
  this.timeout(300_000);
  let dir = '';
  let extra: ExtraServe | undefined;
  let url = '';

  before(async function () {
    dir = await mkdtemp(join(tmpdir(), 'kallithea-https-'));
    const { key, cert } = makeTestCertificate(dir, '/CN=127.0.0.1');
    extra = await spawnExtraServe(kallithea(), 'my-https.ini', [
      '--workers',
      '2',
      '--tls-cert',
      cert,
      '--tls-key',
      key,
    ]);
    url = (await extra.ready) ?? '';
    assert.match(url, /^https:\/\/127\.0\.0\.1:\d+\/$/, extra.stderr().slice(-2000));
    // Until a worker is ready the bridge answers 503.
    for (let i = 0; i < 600; i++) {
      const answer = await get(url, { Authorization: basic(accounts.alice.user, accounts.alice.password) });
      if (answer.status !== 503) break;
      await new Promise((done) => setTimeout(done, 100));
    }
  });
  after(async () => {
    if (extra !== undefined && extra.serve.exitCode === null) {
      extra.serve.kill('SIGTERM');
      await extra.exited;
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('the summary page shows an https:// clone URL, whatever X-Forwarded-Proto the client sends', async function () {
    const page = await get(new URL('gitrepo', url).toString(), {
      Authorization: basic(accounts.alice.user, accounts.alice.password),
      'X-Forwarded-Proto': 'http',
    });
    assert.equal(page.status, 200);
    const port = new URL(url).port;
    assert.match(page.body, new RegExp(`value="https://alice@127\\.0\\.0\\.1:${port}/gitrepo"`));
    assert.doesNotMatch(page.body, /value="http:\/\/[^"]*\/gitrepo"/);
  });

  it('the redirect to the login form, and the one after logging in, go to https://', async function () {
    // Kallithea credentials are no Windows login: the request reaches Kallithea anonymously.
    const notWindows = { Authorization: basic(accounts.bob.user, accounts.bob.password) };
    const anonymous = await get(url, notWindows);
    assert.equal(anonymous.status, 302);
    assert.match(anonymous.location ?? '', /^https:\/\/127\.0\.0\.1:\d+\/_admin\/login/);

    const form = await fetchForm(new URL('_admin/login', url).toString(), notWindows);
    const answer = await post(
      new URL('_admin/login?came_from=%2Fgitrepo', url).toString(),
      {
        ...notWindows,
        Cookie: form.cookie,
        'Content-Type': 'application/x-www-form-urlencoded',
      },
      new URLSearchParams({
        username: accounts.bob.user,
        password: accounts.bob.password,
        _session_csrf_secret_token: form.token,
      }).toString(),
    );
    assert.equal(answer.status, 302);
    assert.match(answer.location ?? '', /^https:\/\/127\.0\.0\.1:\d+\/gitrepo$/);
  });
});

async function fetchForm(
  url: string,
  headers: Record<string, string>,
): Promise<{ cookie: string; token: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, rejectUnauthorized: false }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      res.on('end', () => {
        const token = /name="_session_csrf_secret_token" type="hidden" value="([^"]+)"/.exec(body)?.[1] ?? '';
        const cookie = String(res.headers['set-cookie']?.[0] ?? '').split(';')[0] as string;
        resolve({ cookie, token });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

function post(url: string, headers: Record<string, string>, body: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers, rejectUnauthorized: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, body: '' }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
