// kallithea-isapi.ini [bridge] and Kallithea's my.ini: defaults, upstream resolution, and
// errors that name the file, the key and the fix.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bridgeDefaults } from '../../../lib/config/bridge-section.js';
import { readBridgeSettings } from '../../../lib/config/kallithea-isapi-ini.js';
import { ConfigError } from '../../../lib/config/errors.js';

describe('config: [bridge] section', () => {
  let folder: string;
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), 'kallithea-isapi-config-'));
  });
  after(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  async function write(name: string, text: string): Promise<string> {
    const file = join(folder, name);
    await writeFile(file, text);
    return file;
  }

  function configError(file: string, key: string | undefined, fix: RegExp) {
    return (error: unknown): boolean => {
      assert.ok(error instanceof ConfigError, String(error));
      assert.equal(error.file, file);
      assert.equal(error.key, key);
      assert.ok(error.message.includes(file));
      if (key !== undefined) assert.ok(error.message.includes(key));
      assert.match(error.message, fix);
      return true;
    };
  }

  it('reads every key, ignores [isapi], accepts inline comments and decimals', async () => {
    const file = await write(
      'full.ini',
      [
        '[isapi]',
        'mode = connect',
        '[bridge]',
        'listen = unix:/run/k.sock ; standalone',
        'upstream = http://127.0.0.1:5055',
        'user_header = X-Kallithea-User',
        'connect_timeout = 2.5',
        'headers_timeout = 60',
        'body_timeout = 7200',
        'max_connections = 8',
        'access_log = logs/access.log',
        'shutdown_timeout = 5',
        'handshake_timeout = 2',
        'upstream_tcp_keepalive = off',
        '',
      ].join('\n'),
    );
    const settings = await readBridgeSettings(file);
    assert.deepEqual(settings, {
      listen: 'unix:/run/k.sock',
      kallitheaConfig: undefined,
      upstream: 'http://127.0.0.1:5055',
      userHeader: 'X-Kallithea-User',
      connectTimeout: 2.5,
      headersTimeout: 60,
      bodyTimeout: 7200,
      maxConnections: 8,
      accessLog: join(folder, 'logs/access.log'),
      shutdownTimeout: 5,
      handshakeTimeout: 2,
      python: undefined,
      workers: bridgeDefaults.workers,
      maxWorkers: 2 * bridgeDefaults.workers,
      workerIdleTimeout: 60,
      streamPriority: 'below_normal',
      maxQueued: 100,
      workerStartTimeout: 120,
      rapidFailsPerMinute: 5,
      upstreamTcpKeepAlive: false,
    });
  });

  it('reads the worker pool keys: python (relative to the ini), workers, queue, start, rapid-fail', async () => {
    await write('pool-my.ini', '[server:main]\nuse = egg:waitress#main\nport = 5124\n');
    const settings = await readBridgeSettings(
      await write(
        'pool.ini',
        [
          '[bridge]',
          'kallithea_config = pool-my.ini',
          'python = venv/bin/python',
          'workers = 3',
          'max_queued = 0',
          'worker_start_timeout = 30',
          'rapid_fails_per_minute = 2',
          '',
        ].join('\n'),
      ),
    );
    assert.equal(settings.python, join(folder, 'venv/bin/python'));
    assert.equal(settings.workers, 3);
    assert.equal(settings.maxWorkers, 6, 'max_workers defaults to 2 x workers');
    assert.equal(settings.workerIdleTimeout, 60);
    assert.equal(settings.maxQueued, 0);
    assert.equal(settings.workerStartTimeout, 30);
    assert.equal(settings.rapidFailsPerMinute, 2);
    assert.ok(bridgeDefaults.workers >= 2, 'at least 2 workers by default');
  });

  it('refuses python without kallithea_config, and python with upstream', async () => {
    const alone = await write('pool-alone.ini', '[bridge]\npython = /usr/bin/python3\n');
    await assert.rejects(
      readBridgeSettings(alone),
      configError(alone, '[bridge] python', /give kallithea_config/),
    );
    const both = await write(
      'pool-both.ini',
      '[bridge]\npython = /usr/bin/python3\nkallithea_config = pool-my.ini\nupstream = http://127.0.0.1:5000\n',
    );
    await assert.rejects(readBridgeSettings(both), configError(both, '[bridge] python', /remove upstream/));
  });

  it('uses the defaults without a file or without a [bridge] section', async () => {
    assert.deepEqual(await readBridgeSettings(undefined), bridgeDefaults);
    assert.deepEqual(
      await readBridgeSettings(await write('empty.ini', '[isapi]\nthreads = 4\n')),
      bridgeDefaults,
    );
  });

  it('takes the upstream from my.ini [server:main] (relative to the ini), upstream wins over it', async () => {
    await write('my.ini', '[server:main]\nuse = egg:waitress#main\nhost = 0.0.0.0\nport = 5123\n');
    const fromMyIni = await readBridgeSettings(
      await write('k1.ini', '[bridge]\nkallithea_config = my.ini\n'),
    );
    assert.equal(fromMyIni.upstream, 'http://127.0.0.1:5123');
    assert.equal(fromMyIni.kallitheaConfig, join(folder, 'my.ini'));
    const both = await readBridgeSettings(
      await write('k2.ini', '[bridge]\nkallithea_config = my.ini\nupstream = http://localhost:6000\n'),
    );
    assert.equal(both.upstream, 'http://localhost:6000');
  });

  it('refuses a missing file, naming it', async () => {
    const file = join(folder, 'missing.ini');
    await assert.rejects(
      readBridgeSettings(file),
      configError(file, undefined, /ENOENT.*check that the path/),
    );
  });

  it('refuses a missing my.ini, and one without [server:main]', async () => {
    const file = await write('k3.ini', '[bridge]\nkallithea_config = nowhere.ini\n');
    await assert.rejects(
      readBridgeSettings(file),
      configError(join(folder, 'nowhere.ini'), undefined, /ENOENT/),
    );
    await write('noserver.ini', '[app:main]\nuse = egg:kallithea\n');
    const file2 = await write('k4.ini', '[bridge]\nkallithea_config = noserver.ini\n');
    await assert.rejects(
      readBridgeSettings(file2),
      configError(join(folder, 'noserver.ini'), '[server:main]', /missing.*gearbox serve/),
    );
  });

  it('refuses an unknown key, listing the known ones', async () => {
    const file = await write('unknown.ini', '[bridge]\nheader_timeout = 5\n');
    await assert.rejects(
      readBridgeSettings(file),
      configError(file, '[bridge] header_timeout', /headers_timeout/),
    );
  });

  const bad: Array<[key: string, value: string, fix: RegExp]> = [
    ['headers_timeout', 'soon', /seconds as a number/],
    ['body_timeout', '0', /seconds as a number above 0/],
    ['connect_timeout', '-1', /seconds/],
    ['max_connections', '0', /whole number of connections from 1 to 1024/],
    ['max_connections', '2.5', /whole number/],
    ['user_header', 'X_Forwarded_User', /no underscores/],
    ['upstream', 'https://kallithea', /http:\/\/host:port/],
    ['upstream', 'http://127.0.0.1:5000/kallithea', /no path/],
    ['upstream', 'localhost:5000', /http:\/\/host:port/],
    ['workers', '0', /whole number of worker processes from 1 to 64/],
    ['max_queued', 'many', /whole number of queued requests/],
    ['worker_start_timeout', '0', /seconds as a number above 0/],
    ['rapid_fails_per_minute', '0', /whole number of exits from 1/],
    ['max_workers', '0', /whole number of worker processes from 1 to 128/],
    ['worker_idle_timeout', 'never', /seconds as a number/],
    ['stream_priority', 'idle', /below_normal \(the default: clones yield the CPU to pages\) or normal/],
  ];
  for (const [key, value, fix] of bad) {
    it(`refuses ${key} = ${value}`, async () => {
      const file = await write(`bad-${key}.ini`, `[bridge]\n${key} = ${value}\n`);
      await assert.rejects(readBridgeSettings(file), configError(file, `[bridge] ${key}`, fix));
    });
  }

  it('reads max_workers, worker_idle_timeout and stream_priority, and refuses max_workers below workers', async () => {
    const file = await write(
      'elastic.ini',
      '[bridge]\nworkers = 2\nmax_workers = 5\nworker_idle_timeout = 2.5\nstream_priority = normal\n',
    );
    const settings = await readBridgeSettings(file);
    assert.equal(settings.maxWorkers, 5);
    assert.equal(settings.workerIdleTimeout, 2.5);
    assert.equal(settings.streamPriority, 'normal');
    const below = await write('below.ini', '[bridge]\nworkers = 3\nmax_workers = 2\n');
    await assert.rejects(
      readBridgeSettings(below),
      configError(below, '[bridge] max_workers', /give at least 3/),
    );
  });

  it('names every problem of the file, [bridge] and my.ini in one error, the first as its key', async () => {
    await write('colon.ini', '[server:main]\nhost: 127.0.0.2\nport: 0\n');
    const file = await write(
      'several.ini',
      '[bridge]\nkallithea_config = colon.ini\nmax_connections = none\nspeed = fast\nno equals\n',
    );
    await assert.rejects(readBridgeSettings(file), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.key, undefined); // the first is the syntax problem, at its line
      const lines = error.message.split('\n');
      assert.equal(lines.length, 4, error.message);
      assert.match(lines[0] ?? '', /several\.ini:5: "no equals" is not 'key = value'/);
      assert.match(
        lines[1] ?? '',
        /several\.ini: \[bridge\] max_connections: bad value "none"; give a whole number/,
      );
      assert.match(
        lines[2] ?? '',
        /several\.ini: \[bridge\] speed: unknown key; the \[bridge\] keys are listen, /,
      );
      assert.match(lines[3] ?? '', /colon\.ini: \[server:main\] port: '0' is not a port; give a number/);
      return true;
    });
  });

  it('takes a Unix socket upstream (unix:path, relative to the ini) and refuses unix: alone', async () => {
    const absolute = await write('unix-abs.ini', '[bridge]\nupstream = unix:/run/kallithea.sock\n');
    assert.equal((await readBridgeSettings(absolute)).upstream, 'unix:/run/kallithea.sock');
    const relative = await write('unix-rel.ini', '[bridge]\nupstream = unix:run/k.sock\n');
    assert.equal((await readBridgeSettings(relative)).upstream, `unix:${join(folder, 'run/k.sock')}`);
    const empty = await write('unix-empty.ini', '[bridge]\nupstream = unix:\n');
    await assert.rejects(readBridgeSettings(empty), configError(empty, '[bridge] upstream', /socket's path/));
  });

  it("reads my.ini's 'key: value' lines (configparser) for the upstream", async () => {
    await write('colon-ok.ini', '[server:main]\nhost: 127.0.0.2\nport: 5124\n');
    const settings = await readBridgeSettings(
      await write('k5.ini', '[bridge]\nkallithea_config = colon-ok.ini\n'),
    );
    assert.equal(settings.upstream, 'http://127.0.0.2:5124');
  });
});
