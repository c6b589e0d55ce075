// Bridge benchmark (a script, not a test): one run, one upstream, three paths measured with
// wrk at 64 connections, median of 3 short runs each:
//   (1) nginx -> upstream (proxy_pass, keep-alive)          the reference reverse proxy
//   (2) nginx -> bridge (FastCGI, kept alive) -> upstream     the bridge
//   (3) upstream alone
// then 1 GiB through (2): MB/s and the bridge's peak RSS (VmHWM).
// Run: npx tsc -p tsconfig.json && node dist/bench/bridge/run.js [seconds-per-run]
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBridgeProcess } from '../../test/support/bridge-process.js';
import { nginxFastCgiHttp, nginxFastCgiServer } from '../../test/support/chain.js';
import { httpConf, startNginx } from '../../test/support/nginx.js';

const SECONDS = Number(process.argv[2] ?? 5);
const GIB = 1024 ** 3;

/** The upstream in its own process: 1 KiB for any path, /big?bytes=N streams N bytes. */
const UPSTREAM = `
const http = require('node:http');
const kib = Buffer.alloc(1024, 'k');
const block = Buffer.alloc(65536, 'b');
http.createServer((req, res) => {
  const m = /^\\/big\\?bytes=(\\d+)/.exec(req.url);
  if (!m) { res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': 1024 }); res.end(kib); return; }
  let left = Number(m[1]);
  res.writeHead(200, { 'Content-Length': left });
  const pump = () => { while (left > 0) { const n = Math.min(left, block.length); left -= n;
    if (!res.write(n === block.length ? block : block.subarray(0, n))) { res.once('drain', pump); return; } } res.end(); };
  pump();
}).listen(0, '127.0.0.1', function () { process.stdout.write(this.address().port + '\\n'); });
`;

interface WrkResult {
  rps: number;
  p50: number;
  p99: number;
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
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  if (errors !== null) throw new Error(`wrk saw ${errors[1]} error responses from ${url}`);
  return { rps, p50, p99 };
}

function median(results: WrkResult[]): WrkResult {
  const mid = (values: number[]): number =>
    values.sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
  return {
    rps: mid(results.map((r) => r.rps)),
    p50: mid(results.map((r) => r.p50)),
    p99: mid(results.map((r) => r.p99)),
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-bridge-'));
  const upstream = spawn(process.execPath, ['-e', UPSTREAM], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) =>
    upstream.stdout.once('data', (d: Buffer) => resolve(Number(d.toString()))),
  );
  const origin = `http://127.0.0.1:${port}`;
  const bridge = await startBridgeProcess({
    dir,
    bridge: { upstream: origin, access_log: join(dir, 'access.log') },
  });
  const proxy = await startNginx({
    conf: ({ port: p, dir: d }) =>
      httpConf({
        port: p,
        dir: d,
        http: `upstream direct { server 127.0.0.1:${port}; keepalive 64; }`,
        server: `location / { proxy_pass http://direct; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering off; }`,
      }),
  });
  const viaBridge = await startNginx({
    conf: ({ port: p, dir: d }) =>
      httpConf({
        port: p,
        dir: d,
        http: nginxFastCgiHttp(bridge.socket),
        server: nginxFastCgiServer(bridge.secret),
      }),
  });
  try {
    const paths: Array<[string, string]> = [
      ['(1) nginx -> upstream', `http://127.0.0.1:${proxy.port}/x`],
      ['(2) nginx -> bridge -> upstream', `http://127.0.0.1:${viaBridge.port}/x`],
      ['(3) upstream alone', `${origin}/x`],
    ];
    for (const [, url] of paths) wrk(url.replace(/\/x$/, '/warmup')); // warm up pools and JIT
    const results = new Map<string, WrkResult>();
    for (const [name, url] of paths) results.set(name, median([wrk(url), wrk(url), wrk(url)]));
    console.log(`wrk -t4 -c64 -d${SECONDS}s, 1 KiB responses, median of 3 runs`);
    for (const [name, r] of results) {
      console.log(
        `${name.padEnd(34)} ${r.rps.toFixed(0).padStart(8)} req/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms`,
      );
    }
    const [one, two, three] = [...results.values()] as [WrkResult, WrkResult, WrkResult];
    console.log(`ratio (2)/(1) = ${(two.rps / one.rps).toFixed(2)}   (target >= 0.5)`);
    console.log(`ratio (2)/(3) = ${(two.rps / three.rps).toFixed(2)}`);
    console.log(`bridge VmHWM after wrk runs: ${(bridge.memoryKiB('VmHWM') / 1024).toFixed(1)} MiB`);

    const transfer = execFileSync(
      'curl',
      [
        '-sS',
        '-o',
        '/dev/null',
        '-w',
        '%{size_download} %{time_total}',
        `http://127.0.0.1:${viaBridge.port}/big?bytes=${GIB}`,
      ],
      { encoding: 'utf8' },
    );
    const [size, seconds] = transfer.split(' ').map(Number) as [number, number];
    if (size !== GIB) throw new Error(`1 GiB download got ${size} bytes`);
    console.log(
      `1 GiB through (2): ${(size / 1e6 / seconds).toFixed(0)} MB/s; bridge peak RSS (VmHWM) ` +
        `${(bridge.memoryKiB('VmHWM') / 1024).toFixed(1)} MiB   (target < 100 MiB)`,
    );
  } finally {
    await viaBridge.stop();
    await proxy.stop();
    await bridge.stop();
    upstream.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
