// Bridge benchmark (a script, not a test): one run, one upstream, three paths measured with
// wrk at 64 connections, median of 3 short runs each:
//   (1) nginx -> upstream (proxy_pass, keep-alive)          the reference reverse proxy
//   (2) nginx -> bridge (FastCGI, kept alive) -> upstream     the bridge
//   (3) upstream alone
// and, as extra rows that leave the figures above as they were, (1) and (2) again with the
// upstream on a Unix socket instead of TCP loopback (nginx `server unix:`, the bridge's
// `upstream = unix:`), for this checkout's bridge only (older ones took no unix: upstream):
//   (1u) nginx -> upstream (Unix socket)   (2u) nginx -> bridge -> upstream (Unix socket)
// with the bridge's CPU seconds per 10,000 requests (utime + stime from /proc/<pid>/stat)
// and its RSS after those runs; then 1 GiB through (2) on a fresh bridge process: MB/s and
// that process's peak RSS (VmHWM), so the figure is the streaming peak alone.
// The runs are interleaved (round i runs every path once), so that a neighbour's build on a
// shared machine slows all paths of a round rather than one path's three runs.
//
// --compare <checkout>: a second bridge, another built checkout's bin/kallithea-isapi.js
//   (say, the commit before a change), measured the same way in the same rounds: before and
//   after in one run. --cpu-prof <dir>: the 64-connection bridges run with node --cpu-prof
//   and write their profiles there (bench/profile-top.js summarises one).
// Run: npx tsc -p tsconfig.json && node dist/bench/bridge/run.js [seconds-per-run]
//        [--compare <checkout>] [--cpu-prof <dir>]
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startBridgeProcess, type BridgeProcess } from '../../test/support/bridge-process.js';
import { nginxFastCgiHttp, nginxFastCgiServer } from '../../test/support/chain.js';
import { httpConf, startNginx, type RunningNginx } from '../../test/support/nginx.js';

const args = parseArgs({
  allowPositionals: true,
  options: { compare: { type: 'string' }, 'cpu-prof': { type: 'string' } },
});
const SECONDS = Number(args.positionals[0] ?? 5);
const ROUNDS = 3;
const GIB = 1024 ** 3;

/**
 * The upstream in its own process: 1 KiB for any path, /big?bytes=N streams N bytes. One
 * handler on TCP 127.0.0.1 and on the Unix socket argv[1]; prints the port once both listen.
 */
const UPSTREAM = `
const http = require('node:http');
const kib = Buffer.alloc(1024, 'k');
const block = Buffer.alloc(65536, 'b');
const handle = (req, res) => {
  const m = /^\\/big\\?bytes=(\\d+)/.exec(req.url);
  if (!m) { res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': 1024 }); res.end(kib); return; }
  let left = Number(m[1]);
  res.writeHead(200, { 'Content-Length': left });
  const pump = () => { while (left > 0) { const n = Math.min(left, block.length); left -= n;
    if (!res.write(n === block.length ? block : block.subarray(0, n))) { res.once('drain', pump); return; } } res.end(); };
  pump();
};
http.createServer(handle).listen(process.argv[1], () => {
  http.createServer(handle).listen(0, '127.0.0.1', function () { process.stdout.write(this.address().port + '\\n'); });
});
`;

interface WrkResult {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
}

function toMs(text: string): number {
  const match = /^([\d.]+)(us|ms|s)$/.exec(text);
  if (match === null) return NaN;
  const value = Number(match[1]);
  return match[2] === 'us' ? value / 1000 : match[2] === 's' ? value * 1000 : value;
}

function wrk(url: string): WrkResult {
  const out = execFileSync('wrk', ['-t4', '-c64', `-d${SECONDS}s`, '--latency', url], { encoding: 'utf8' });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const p50 = toMs(/^\s+50%\s+(\S+)/m.exec(out)?.[1] ?? '');
  const p99 = toMs(/^\s+99%\s+(\S+)/m.exec(out)?.[1] ?? '');
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  if (errors !== null) throw new Error(`wrk saw ${errors[1]} error responses from ${url}`);
  return { rps, p50, p99, requests };
}

/** CPU seconds a process has used so far: utime + stime from /proc/<pid>/stat. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of stat(5), counted from field 3 (state) after the command name.
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** sysconf(_SC_CLK_TCK): 100 on Linux. */
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** wrk against `url`, and the CPU seconds `pid` spent per 10,000 of its requests. */
function wrkWithCpu(url: string, pid: number): WrkResult & { cpuPer10k: number } {
  const before = cpuSeconds(pid);
  const result = wrk(url);
  return { ...result, cpuPer10k: ((cpuSeconds(pid) - before) * 10_000) / result.requests };
}

function mid(values: number[]): number {
  return values.sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
}

function median(results: WrkResult[]): WrkResult {
  return {
    rps: mid(results.map((r) => r.rps)),
    p50: mid(results.map((r) => r.p50)),
    p99: mid(results.map((r) => r.p99)),
    requests: mid(results.map((r) => r.requests)),
  };
}

/** A bridge under test: this checkout's, or --compare's. */
interface Variant {
  readonly label: string;
  /** bin/kallithea-isapi.js of the checkout; undefined: this one. */
  readonly cli: string | undefined;
}

/** A bridge process with its own folder (ini, socket) under `dir`. */
function startBridgeIn(
  dir: string,
  bridge: Record<string, string | number>,
  variant: Variant,
  nodeArgs: string[] = [],
): Promise<BridgeProcess> {
  mkdirSync(dir);
  return startBridgeProcess({
    dir,
    bridge,
    nodeArgs,
    ...(variant.cli === undefined ? {} : { cli: variant.cli }),
  });
}

/** nginx in front of a bridge process (FastCGI, kept alive). */
function nginxForBridge(bridge: BridgeProcess): Promise<RunningNginx> {
  return startNginx({
    conf: ({ port: p, dir: d }) =>
      httpConf({
        port: p,
        dir: d,
        http: nginxFastCgiHttp(bridge.socket),
        server: nginxFastCgiServer(bridge.secret),
      }),
  });
}

/** 1 GiB through nginx -> bridge; MB/s. */
function download(port: number): number {
  const transfer = execFileSync(
    'curl',
    [
      '-sS',
      '-o',
      '/dev/null',
      '-w',
      '%{size_download} %{time_total}',
      `http://127.0.0.1:${port}/big?bytes=${GIB}`,
    ],
    { encoding: 'utf8' },
  );
  const [size, seconds] = transfer.split(' ').map(Number) as [number, number];
  if (size !== GIB) throw new Error(`1 GiB download got ${size} bytes`);
  return size / 1e6 / seconds;
}

const mib = (kib: number): string => `${(kib / 1024).toFixed(1)} MiB`;

/** node --cpu-prof for a bridge, writing into <--cpu-prof>/<label>. */
function profiling(label: string): string[] {
  const dir = args.values['cpu-prof'];
  if (dir === undefined) return [];
  const into = resolve(dir, label);
  mkdirSync(into, { recursive: true });
  return ['--cpu-prof', `--cpu-prof-dir=${into}`];
}

interface BridgeUnderTest {
  readonly variant: Variant;
  readonly bridge: BridgeProcess;
  readonly nginx: RunningNginx;
  readonly runs: Array<WrkResult & { cpuPer10k: number }>;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-bridge-'));
  const upstreamSocket = join(dir, 'upstream.sock');
  const upstream = spawn(process.execPath, ['-e', UPSTREAM, upstreamSocket], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve) =>
    upstream.stdout.once('data', (d: Buffer) => resolve(Number(d.toString()))),
  );
  const origin = `http://127.0.0.1:${port}`;
  const variants: Variant[] = [{ label: 'this', cli: undefined }];
  if (args.values.compare !== undefined) {
    variants.push({ label: 'compare', cli: resolve(args.values.compare, 'bin/kallithea-isapi.js') });
  }
  // One pooled keep-alive connection per concurrent request (wrk -c64), as nginx has below.
  const bridgeSettings = { upstream: origin, max_connections: 64, access_log: join(dir, 'access.log') };
  const proxy = await startNginx({
    conf: ({ port: p, dir: d }) =>
      httpConf({
        port: p,
        dir: d,
        http: `upstream direct { server 127.0.0.1:${port}; keepalive 64; }`,
        server: `location / { proxy_pass http://direct; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering off; }`,
      }),
  });
  const proxyUnix = await startNginx({
    conf: ({ port: p, dir: d }) =>
      httpConf({
        port: p,
        dir: d,
        http: `upstream direct_unix { server unix:${upstreamSocket}; keepalive 64; }`,
        server: `location / { proxy_pass http://direct_unix; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering off; }`,
      }),
  });
  const under: BridgeUnderTest[] = [];
  let unix: BridgeUnderTest | undefined;
  const stopping: Array<() => Promise<unknown>> = [];
  try {
    for (const variant of variants) {
      const bridge = await startBridgeIn(
        join(dir, `concurrency-${variant.label}`),
        { ...bridgeSettings, access_log: join(dir, `access-${variant.label}.log`) },
        variant,
        profiling(variant.label),
      );
      stopping.push(() => bridge.stop());
      const nginx = await nginxForBridge(bridge);
      stopping.push(() => nginx.stop());
      under.push({ variant, bridge, nginx, runs: [] });
    }
    {
      const variant = variants[0] as Variant;
      const bridge = await startBridgeIn(
        join(dir, 'concurrency-unix'),
        { ...bridgeSettings, upstream: `unix:${upstreamSocket}`, access_log: join(dir, 'access-unix.log') },
        variant,
        profiling('unix'),
      );
      stopping.push(() => bridge.stop());
      const nginx = await nginxForBridge(bridge);
      stopping.push(() => nginx.stop());
      unix = { variant, bridge, nginx, runs: [] };
    }
    const direct = `http://127.0.0.1:${proxy.port}/x`;
    const alone = `${origin}/x`;
    const bridged = (u: BridgeUnderTest): string => `http://127.0.0.1:${u.nginx.port}/x`;
    const directUnix = `http://127.0.0.1:${proxyUnix.port}/x`;
    const warm = [direct, alone, ...under.map(bridged), directUnix, bridged(unix)];
    for (const url of warm) wrk(url.replace(/\/x$/, '/warmup')); // pools and JIT
    const ones: WrkResult[] = [];
    const threes: WrkResult[] = [];
    const onesUnix: WrkResult[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      ones.push(wrk(direct));
      for (const u of under) u.runs.push(wrkWithCpu(bridged(u), u.bridge.pid));
      threes.push(wrk(alone));
      onesUnix.push(wrk(directUnix));
      unix.runs.push(wrkWithCpu(bridged(unix), unix.bridge.pid));
    }
    const one = median(ones);
    const three = median(threes);
    console.log(`wrk -t4 -c64 -d${SECONDS}s, 1 KiB responses, median of ${ROUNDS} interleaved rounds`);
    const rows: Array<[string, WrkResult]> = [
      ['(1) nginx -> upstream', one],
      ...under.map((u): [string, WrkResult] => [
        `(2) nginx -> bridge -> upstream [${u.variant.label}]`,
        median(u.runs),
      ]),
      ['(3) upstream alone', three],
      ['(1u) nginx -> upstream [Unix socket]', median(onesUnix)],
      [`(2u) nginx -> bridge -> upstream [Unix socket, ${unix.variant.label}]`, median(unix.runs)],
    ];
    for (const [name, r] of rows) {
      console.log(
        `${name.padEnd(46)} ${r.rps.toFixed(0).padStart(8)} req/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms`,
      );
    }
    const reports: Array<[BridgeUnderTest, WrkResult, string]> = [
      ...under.map((u): [BridgeUnderTest, WrkResult, string] => [u, one, '']),
      [unix, median(onesUnix), 'u'],
    ];
    for (const [u, reference, row] of reports) {
      const two = median(u.runs);
      const label = row === '' ? u.variant.label : `${u.variant.label}, Unix socket`;
      const cpu = u.runs.map((r) => r.cpuPer10k);
      console.log(
        `[${label}] ratio (2${row})/(1${row}) = ${(two.rps / reference.rps).toFixed(2)}   (target >= 0.30)`,
      );
      console.log(`[${label}] ratio (2${row})/(3) = ${(two.rps / three.rps).toFixed(2)}`);
      console.log(
        `[${label}] bridge CPU per 10,000 requests in (2${row}): ${mid(cpu).toFixed(2)} s ` +
          `(utime + stime, median of ${cpu.map((c) => c.toFixed(2)).join(' ')})   (target <= 0.45)`,
      );
      console.log(
        `[${label}] bridge RSS after the 64-connection runs: VmRSS ${mib(u.bridge.memoryKiB('VmRSS'))}, ` +
          `VmHWM ${mib(u.bridge.memoryKiB('VmHWM'))}`,
      );
    }

    // The streaming peak on its own: a fresh bridge that has served nothing else.
    for (const variant of variants) {
      const fresh = await startBridgeIn(join(dir, `stream-${variant.label}`), bridgeSettings, variant);
      stopping.push(() => fresh.stop());
      const freshNginx = await nginxForBridge(fresh);
      stopping.push(() => freshNginx.stop());
      const rate = download(freshNginx.port);
      console.log(
        `[${variant.label}] 1 GiB through (2), fresh bridge: ${rate.toFixed(0)} MB/s; its peak RSS (VmHWM) ` +
          `${mib(fresh.memoryKiB('VmHWM'))}   (target < 100 MiB)`,
      );
    }
  } finally {
    // nginx before its bridge: the reverse of starting.
    for (const stop of stopping.reverse()) await stop();
    await proxy.stop();
    await proxyUnix.stop();
    upstream.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
