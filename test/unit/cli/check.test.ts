// `kallithea-isapi check` on a good deployment (a real HTTP server standing in for Kallithea)
// and on broken ones: every broken key is named, and the exit status says whether all passed.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildPe } from '../iis/build-pe.js';
import { binPath, runCli } from './run-cli.js';

describe('kallithea-isapi check', function () {
  this.timeout(60_000);
  let dir: string;
  let kallithea: http.Server;
  let port: number;
  let myIni: string;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'kisapi-check-'));
    buildPe(dir, 'x64-dll', 'kallithea_isapi.dll');
    mkdirSync(path.join(dir, 'logs'));
    // Any HTTP status counts as "Kallithea is up": answer 302 like a login redirect.
    kallithea = http.createServer((_req, res) => res.writeHead(302, { Location: '/_admin/login' }).end());
    await new Promise<void>((resolve) => kallithea.listen(0, '127.0.0.1', resolve));
    port = (kallithea.address() as AddressInfo).port;
    myIni = path.join(dir, 'my.ini');
    writeFileSync(
      myIni,
      `[server:main]\nhost = 0.0.0.0\nport = ${port}\n[app:main]\nuse = egg:kallithea\nfilter-with = proxy-prefix\n` +
        '[filter:proxy-prefix]\nuse = egg:PasteDeploy#prefix\nprefix = /kallithea\n',
    );
  });
  after(async () => {
    await new Promise((resolve) => kallithea.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  function writeIni(name: string, isapi: string, bridge: string): string {
    const file = path.join(dir, name);
    writeFileSync(file, `[isapi]\n${isapi}\n[bridge]\n${bridge}\n`);
    return file;
  }

  const goodIsapi = `mode = spawn\nnode = ${process.execPath}\nbridge_script = ${binPath}\nlog_file = logs/kallithea_isapi.log`;

  it('passes a good deployment, checking Kallithea over HTTP and the prefix against the virtual dir', async () => {
    const ini = writeIni('good.ini', goodIsapi, `kallithea_config = ${myIni}\naccess_log = logs/access.log`);
    const result = await runCli(['check', '--config', ini, '--virtualdir', '/kallithea']);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.doesNotMatch(result.stdout, /^FAIL/m);
    assert.match(
      result.stdout,
      new RegExp(`^OK +Kallithea answers +GET http://127\\.0\\.0\\.1:${port}/: HTTP 302$`, 'm'),
    );
    assert.match(result.stdout, /^OK +prefix filter +fits the virtual directory \/kallithea$/m);
    assert.match(result.stdout, /^OK +DLL +.*x64 \(64-bit\)$/m);
    assert.match(result.stdout, /^OK +log_file folder/m);
    assert.match(result.stdout, /All checks passed/);
  });

  it('names every broken key in both sections and exits 1', async () => {
    const ini = writeIni(
      'broken.ini',
      `${goodIsapi}\nthreads = many\nmax_queued = -1\nconnect_timeout = soon\ncolour = blue`,
      `kallithea_config = ${myIni}\nupstream = ftp://example\nuser_header = X_Remote_User\nbody_timeout = 0\nspeed = fast`,
    );
    const result = await runCli(['check', '--config', ini]);
    assert.equal(result.code, 1);
    for (const key of ['threads', 'max_queued', 'connect_timeout', 'colour']) {
      assert.match(
        result.stdout,
        new RegExp(`^FAIL +\\[isapi\\] ${key} +.*broken\\.ini: \\[isapi\\] ${key}: `, 'm'),
        key,
      );
    }
    for (const key of ['upstream', 'user_header', 'body_timeout', 'speed']) {
      assert.match(
        result.stdout,
        new RegExp(`^FAIL +\\[bridge\\] ${key} +.*broken\\.ini: \\[bridge\\] ${key}: `, 'm'),
        key,
      );
    }
    assert.match(result.stdout, /\[isapi\] colour: unknown key; the \[isapi\] keys are mode, /);
  });

  it('reports syntax errors with their line, and missing files with the fix', async () => {
    const ini = path.join(dir, 'syntax.ini');
    writeFileSync(
      ini,
      `stray = 1\n[isapi]\nmode = spawn\nnode = ${path.join(dir, 'no-node')}\nbridge_script = ${path.join(dir, 'no-script.js')}\n` +
        `log_file = nowhere/k.log\nthis line has no equals sign\n[bridge]\nkallithea_config = ${path.join(dir, 'absent-my.ini')}\n`,
    );
    const result = await runCli(['check', '--config', ini]);
    assert.equal(result.code, 1);
    assert.match(result.stdout, /syntax\.ini:1: stray comes before any \[section\]/);
    assert.match(result.stdout, /syntax\.ini:7: "this line has no equals sign" is not 'key = value'/);
    assert.match(result.stdout, /^FAIL +node +.*\[isapi\] node = .*no-node not found/m);
    assert.match(result.stdout, /^FAIL +bridge_script +.*no such file/m);
    assert.match(
      result.stdout,
      /^FAIL +my\.ini +.*absent-my\.ini \(from \[bridge\] kallithea_config\) does not exist/m,
    );
    assert.match(result.stdout, /^FAIL +log_file folder +.*nowhere does not exist: create it/m);
  });

  it('fails when Kallithea does not answer, and when the prefix does not fit the virtual dir', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const ini = writeIni(
      'down.ini',
      goodIsapi,
      `kallithea_config = ${myIni}\nupstream = http://127.0.0.1:${deadPort}`,
    );
    const result = await runCli(['check', '--config', ini, '--virtualdir', '/']);
    assert.equal(result.code, 1);
    assert.match(
      result.stdout,
      /^FAIL +Kallithea answers +GET http:\/\/127\.0\.0\.1:\d+\/: .*ECONNREFUSED.*start Kallithea/m,
    );
    assert.match(
      result.stdout,
      /^FAIL +prefix filter +.*has a prefix filter .* but IIS serves Kallithea at the site root/m,
    );
  });

  it('asks a unix: upstream on its socket, and names the socket when nothing listens there', async () => {
    const socketPath = path.join(dir, 'kallithea.sock');
    const listening = http.createServer((_request, response) => response.writeHead(302).end());
    await new Promise<void>((resolve) => listening.listen(socketPath, resolve));
    try {
      const up = writeIni(
        'unix.ini',
        goodIsapi,
        `kallithea_config = ${myIni}\nupstream = unix:${socketPath}`,
      );
      const result = await runCli(['check', '--config', up]);
      assert.match(result.stdout, /^OK +upstream +unix:\/.*kallithea\.sock \(from \[bridge\] upstream\)$/m);
      assert.match(result.stdout, /^OK +Kallithea answers +GET \/ on unix:\/.*kallithea\.sock: HTTP 302$/m);
    } finally {
      await new Promise((resolve) => listening.close(resolve));
    }
    const down = writeIni(
      'unix-down.ini',
      goodIsapi,
      `kallithea_config = ${myIni}\nupstream = unix:${socketPath}`,
    );
    const result = await runCli(['check', '--config', down]);
    assert.equal(result.code, 1);
    assert.match(
      result.stdout,
      /^FAIL +Kallithea answers +GET \/ on unix:\/.*kallithea\.sock: .*ENOENT.*start Kallithea/m,
    );
  });

  it('fails a DLL that is not PE, and one missing', async () => {
    const other = mkdtempSync(path.join(dir, 'nodll-'));
    const ini = path.join(other, 'kallithea-isapi.ini');
    writeFileSync(ini, `[isapi]\n${goodIsapi}\n[bridge]\nkallithea_config = ${myIni}\n`);
    const missing = await runCli(['check', '--config', ini]);
    assert.match(missing.stdout, /^FAIL +DLL +.*kallithea_isapi\.dll not found/m);
    writeFileSync(path.join(other, 'kallithea_isapi.dll'), 'not a PE file at all, just text'.repeat(4));
    const notPe = await runCli(['check', '--config', ini]);
    assert.match(notPe.stdout, /^FAIL +DLL +.*not a Windows PE file/m);
  });
});
