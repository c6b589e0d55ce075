// Kallithea 0.7.0's own tests, not a copy: the HTTP cases of
// kallithea/tests/other/test_vcs_operations.py from the pip-installed package, run with
// pytest in the instance venv, their `webserver` fixture replaced (pytest/isapi_webserver.py)
// by `kallithea-isapi serve` on their test.ini, so every hg and git command of those tests
// goes through isapi-host -> DLL -> bridge -> Kallithea. Kallithea's conftest builds its own
// test database and repositories in a temporary folder.
import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cachedInstance, outDir, repoRoot } from '../support/kallithea.js';
import { run, runOk } from '../support/vcs.js';

const python = join(cachedInstance, 'venv', 'bin', 'python');
const pluginDir = join(repoRoot, 'test', 'kallithea', 'pytest');
const requirements = join(pluginDir, 'requirements.txt');
const target = join(repoRoot, '.cache', 'kallithea-pytest');

/** pytest and friends in .cache/kallithea-pytest, installed again when the pins change. */
async function testDependencies(): Promise<void> {
  const wanted = await readFile(requirements, 'utf8');
  const stamp = join(target, 'requirements.txt');
  if (existsSync(stamp) && (await readFile(stamp, 'utf8')) === wanted) return;
  await rm(target, { recursive: true, force: true });
  await runOk(python, ['-m', 'pip', 'install', '-q', '--no-deps', '--target', target, '-r', requirements], {
    cwd: repoRoot,
    env: process.env,
  });
  await writeFile(stamp, wanted);
}

describe("Kallithea's own test_vcs_operations (HTTP cases) through the whole path", function () {
  this.timeout(600_000);
  let tests = '';
  after(async () => {
    if (tests !== '') await rm(tests, { recursive: true, force: true });
  });

  it('pass: clone, push, pull, wrong credentials, read-only 403, 404, IP restriction, hooks', async function () {
    await testDependencies();
    tests = await mkdtemp(join(tmpdir(), 'kallithea-own-tests-'));
    const result = await run(
      python,
      [
        '-m',
        'pytest',
        '-p',
        'no:cacheprovider',
        '-p',
        'isapi_webserver',
        '--pyargs',
        'kallithea.tests.other.test_vcs_operations',
        '-k',
        'Http',
        '-rA',
        '-q',
      ],
      {
        cwd: tests,
        env: {
          PATH: process.env.PATH,
          LANG: 'C.UTF-8',
          HOME: tests,
          PYTHONPATH: `${target}:${pluginDir}`,
          KALLITHEA_TESTS_TMP_PATH: tests,
          // kallithea/tests/base.py makes an (unused) mkdtemp folder at every import, even
          // with KALLITHEA_TESTS_TMP_PATH set: keep those inside ours.
          TMPDIR: tests,
          KALLITHEA_WHOOSH_TEST_DISABLE: '1',
          // No __pycache__ in the checkout, and pytest's assertion rewriting keeps off it too.
          PYTHONDONTWRITEBYTECODE: '1',
          KALLITHEA_ISAPI_CLI: join(repoRoot, 'bin', 'kallithea-isapi.js'),
          KALLITHEA_ISAPI_NODE: process.execPath,
        },
      },
    );
    await writeFile(join(outDir, 'kallithea-own-tests.log'), result.stdout + result.stderr);
    const serveLog = await readFile(join(tests, 'isapi-serve.log'), 'utf8').catch(() => '');
    await writeFile(join(outDir, 'kallithea-own-tests-serve.log'), serveLog);
    const dllLog = await readFile(join(tests, 'isapi-dll.log'), 'utf8').catch(() => '');
    await writeFile(join(outDir, 'kallithea-own-tests-dll.log'), dllLog);
    const summary = /(\d+) passed/.exec(result.stdout);
    assert.equal(result.code, 0, result.stdout.slice(-4000));
    // 24 HTTP cases in 0.7.0 (hg and git); all of them ran through isapi-host.
    assert.equal(Number(summary?.[1]), 24, result.stdout.slice(-2000));
    assert.match(result.stdout, /PASSED .*test_clone_repo_by_admin\[GitHttpVcsTest\]/);
    const served = serveLog.split('\n').filter((line) => /^\S+Z \S+ (GET|POST) \//.test(line));
    assert.ok(served.length > 100, `only ${served.length} requests went through isapi-host`);
  });
});
