// `install --configure-kallithea` and `configure-kallithea` against a real Kallithea 0.7.0: a
// private copy of the test instance with every setting taken back to what a new Kallithea has
// (test/kallithea/support/unconfigured_instance.py), served under the virtual directory
// /kallithea. The dry run changes nothing; the first run makes every setting (the prefix
// filter included, after a backup of my.ini); the second finds them all set and writes
// nothing; then serve logs CORP\alice in and shows the files IIS's default request filtering
// refuses, while Kallithea's own port believes no user header but the secret one, which
// --rotate-user-header replaces. The copy is this file's alone: the shared fixture's instance
// keeps X-Forwarded-User, which the other tests rely on.
import { strict as assert } from 'node:assert';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli, type CliResult } from '../unit/cli/run-cli.js';
import { buildPe } from '../unit/iis/build-pe.js';
import {
  accounts,
  cachedInstance,
  instanceCopy,
  outDir,
  repoRoot,
  spawnServeProcess,
  startDirect,
  stopServe,
  venvPython,
  windowsUsersFile,
  type ExtraServe,
} from '../support/kallithea-parts.js';
import { runOk } from '../support/vcs.js';
import { basic, get } from './support/http.js';

const VDIR = '/kallithea';
const REPO = 'tools';
const DB_SETTINGS = [
  'container plugin',
  "container plugin's header",
  'Clean username',
  'anonymous access off',
  'external accounts activated automatically',
];
const ALL_SETTINGS = [...DB_SETTINGS, 'prefix filter', "bridge's user header"];
const SECRET = /^user_header = (X-Kallithea-User-[0-9a-f]{32})$/m;

/** setting name -> status, from the report's rows. */
function statuses(result: CliResult): Map<string, string> {
  const rows = result.stdout.matchAll(/^ {2}(would change|changed|already set|to do) +([^:]+): /gm);
  return new Map([...rows].map((m) => [m[2] as string, m[1] as string]));
}

function assertAll(result: CliResult, status: string): void {
  assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
  const found = statuses(result);
  assert.deepEqual(
    ALL_SETTINGS.map((name) => [name, found.get(name)]),
    ALL_SETTINGS.map((name) => [name, status]),
    result.stdout,
  );
}

describe('configure-kallithea: the Kallithea settings applied through its own code', function () {
  this.timeout(300_000);
  let dir: string;
  let myIni: string;
  let isapiIni: string;
  let dll: string;
  let directUrl: string;
  let serve: ExtraServe | undefined;
  const children: ChildProcess[] = [];
  const logDir = join(outDir, 'configure-kallithea');
  const install = (...args: string[]): Promise<CliResult> =>
    runCli([
      'install',
      '-c',
      myIni,
      '--dll',
      dll,
      '--virtualdir',
      VDIR,
      '--venv',
      join(cachedInstance, 'venv'),
      ...args,
    ]);
  const secret = async (): Promise<string> => {
    const match = SECRET.exec(await readFile(isapiIni, 'utf8'));
    assert.ok(match !== null, 'no secret user_header in kallithea-isapi.ini');
    return match[1] as string;
  };
  const backups = (): string[] => readdirSync(dir).filter((name) => /^my\.ini\..*\.bak$/.test(name));

  before(async function () {
    await mkdir(logDir, { recursive: true });
    const copy = await instanceCopy();
    dir = copy.dir;
    myIni = join(dir, 'my.ini');
    directUrl = `http://127.0.0.1:${copy.ports.root}${VDIR}/`;
    const unconfigure = join(repoRoot, 'test', 'kallithea', 'support', 'unconfigured_instance.py');
    await runOk(venvPython, [unconfigure, '-c', myIni, REPO], { cwd: dir, env: process.env });
    // install writes kallithea-isapi.ini beside the DLL: my.ini's folder, where
    // configure-kallithea looks for it.
    dll = buildPe(dir, 'x64-dll', 'kallithea_isapi.dll');
    isapiIni = join(dir, 'kallithea-isapi.ini');
  });

  after(async function () {
    await Promise.all([...children, ...(serve === undefined ? [] : [serve.serve])].map(stopServe));
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('install --configure-kallithea --dry-run reports every setting to change, shows the diff, writes nothing', async () => {
    const before = await readFile(myIni, 'utf8');
    const result = await install('--configure-kallithea', '--dry-run');
    assertAll(result, 'would change');
    assert.match(result.stdout, /^\+filter-with = proxy-prefix$/m);
    assert.match(result.stdout, /^\+prefix = \/kallithea$/m);
    assert.equal(await readFile(myIni, 'utf8'), before);
    assert.equal(existsSync(isapiIni), false);
    assert.deepEqual(backups(), []);
  });

  it('install --configure-kallithea on the fresh instance makes every setting, after a backup of my.ini', async () => {
    const before = await readFile(myIni, 'utf8');
    const result = await install('--configure-kallithea');
    assertAll(result, 'changed');
    const header = await secret();
    assert.ok(!result.stdout.includes(header), 'the report shows the secret header');
    const [backup, ...more] = backups();
    assert.deepEqual(more, []);
    assert.equal(await readFile(join(dir, backup as string), 'utf8'), before);
    const after = await readFile(myIni, 'utf8');
    const app = after.split(/^\[/m).find((section) => section.startsWith('app:main]'));
    assert.match(app ?? '', /^filter-with = proxy-prefix$/m);
    assert.match(after, /^\[filter:proxy-prefix\]\nuse = egg:PasteDeploy#prefix\nprefix = \/kallithea$/m);
  });

  it('a second run (configure-kallithea, which finds the ini) reports everything already set and writes nothing', async () => {
    const [myIniBefore, isapiBefore] = await Promise.all([
      readFile(myIni, 'utf8'),
      readFile(isapiIni, 'utf8'),
    ]);
    const result = await runCli(['configure-kallithea', '-c', myIni]);
    assertAll(result, 'already set');
    assert.match(result.stdout, /Nothing to change/);
    assert.equal(await readFile(myIni, 'utf8'), myIniBefore);
    assert.equal(await readFile(isapiIni, 'utf8'), isapiBefore);
    assert.equal(backups().length, 1);
  });

  it('serve logs CORP\\alice in and shows Program.cs, app.config and bin/tool.sh of a repository', async () => {
    // Serve (its bridge with the secret header) and Kallithea alone on my.ini's port, together.
    serve = spawnServeProcess(myIni, [
      '--users',
      windowsUsersFile,
      '--virtualdir',
      VDIR,
      '--workers',
      '1',
      '--isapi-ini',
      isapiIni,
      '--dll-log',
      join(logDir, 'dll.log'),
    ]);
    const port = Number(new URL(directUrl).port);
    const [url] = await Promise.all([serve.ready, startDirect(myIni, port, children, logDir)]);
    assert.ok(url !== undefined, `serve did not start:\n${serve.stderr()}`);
    const alice = { Authorization: basic(accounts.alice.user, accounts.alice.password) };
    const home = await get(url, alice);
    assert.equal(home.status, 200, home.body.slice(0, 300));
    assert.match(home.body, /<span class="menu_link_user">alice<\/span>/);
    for (const [file, marker] of [
      ['Program.cs', '// kallithea-isapi marker: Program.cs'],
      ['app.config', '&lt;!-- kallithea-isapi marker: app.config --&gt;'],
      ['bin/tool.sh', '# kallithea-isapi marker: bin/tool.sh'],
    ] as const) {
      const page = await get(`${url}${REPO}/files/tip/${file}`, alice);
      assert.equal(page.status, 200, `${file}: ${page.status}`);
      assert.ok(page.body.includes(marker), `${file}: the file page does not show its content`);
      const raw = await get(`${url}${REPO}/raw/tip/${file}`, alice);
      assert.equal(raw.status, 200, `${file} raw: ${raw.status}`);
      assert.ok(raw.body.includes(marker.replace('&lt;', '<').replace('&gt;', '>')), `${file} raw`);
    }
    const folder = await get(`${url}${REPO}/files/tip/bin/`, alice);
    assert.equal(folder.status, 200);
    assert.match(folder.body, /tool\.sh/);
  });

  it("straight to Kallithea's port, no header logs anybody in but the secret one", async () => {
    for (const [name, value] of [
      ['X-Forwarded-User', 'admin'],
      ['X-Forwarded-User', 'alice'],
      ['X-Forwarded-User', 'CORP\\dave'],
      ['Remote-User', 'alice'],
      ['X-Remote-User', 'alice'],
      [undefined, undefined],
    ] as const) {
      const page = await get(directUrl, name === undefined ? {} : { [name]: value });
      assert.equal(page.status, 302, `${name}: ${value} answered ${page.status}`);
      assert.match(String(page.headers.location), /\/kallithea\/_admin\/login/);
    }
    // Anonymous access is off for hg too: the request is asked for credentials.
    const hg = await get(`${directUrl}hgrepo?cmd=capabilities`, {
      Accept: 'application/mercurial-0.1',
      'X-Forwarded-User': 'alice',
    });
    assert.equal(hg.status, 401);
    // The secret header is what Kallithea believes (the bridge's, above, works the same way).
    const page = await get(directUrl, { [await secret()]: 'CORP\\alice' });
    assert.equal(page.status, 200);
    assert.match(page.body, /<span class="menu_link_user">alice<\/span>/);
  });

  it('--rotate-user-header makes a new secret header in both places; the old one logs nobody in', async () => {
    const old = await secret();
    const result = await runCli(['configure-kallithea', '-c', myIni, '--rotate-user-header']);
    assert.equal(result.code, 0, result.stderr);
    const found = statuses(result);
    assert.equal(found.get("container plugin's header"), 'changed');
    assert.equal(found.get("bridge's user header"), 'changed');
    assert.equal(found.get('Clean username'), 'already set');
    assert.match(result.stdout, /recycle the\napplication pool/);
    const fresh = await secret();
    assert.notEqual(fresh, old);
    assert.ok(!result.stdout.includes(fresh) && !result.stdout.includes(old));
    const before = await get(directUrl, { [old]: 'CORP\\alice' });
    assert.equal(before.status, 302);
    const now = await get(directUrl, { [fresh]: 'CORP\\alice' });
    assert.equal(now.status, 200);
  });
});
