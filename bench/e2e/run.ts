// Benchmark of the whole native path, figures only (nothing is asserted):
//   (1) nginx -> upstream (reverse proxy, keep-alive pool)
//   (2) isapi-host -> kallithea_isapi.so -> bridge -> upstream
//   (3) upstream alone
// 1 KiB responses, 64 connections, wrk; requests/s, p50/p99, CPU seconds per 10,000
// requests per process (from /proc/<pid>/stat), ratios; then 1 GiB through (1) and (2).
// Run: npx tsc -p tsconfig.json && node dist/bench/e2e/run.js [seconds]
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack, waitForBridge } from '../../test/e2e/support/stack.js';

const seconds = Number(process.argv[2] ?? '10');
const CONNECTIONS = 64;
const GiB = 1024 * 1024 * 1024;
const TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

const upstreamSource = `
const http = require('node:http');
const block = Buffer.alloc(1024, 120);
const big = Buffer.alloc(65536, 121);
const server = http.createServer((req, res) => {
  const m = /bytes=(\\d+)/.exec(req.url);
  if (m === null) { res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': 1024 }); res.end(block); return; }
  let left = Number(m[1]);
  res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
  const pump = () => { while (left > 0) { const n = Math.min(left, big.length); left -= n; if (!res.write(n === big.length ? big : big.subarray(0, n))) { res.once('drain', pump); return; } } res.end(); };
  pump();
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\\n'));
`;

function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS; // utime + stime
  } catch {
    return 0;
  }
}

/** pid and every descendant (nginx workers, the bridge under the host). */
function family(pid: number): number[] {
  const out = [pid];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(...family(Number(entry)));
    } catch {
      // gone
    }
  }
  return out;
}

interface WrkResult {
  rps: number;
  p50: string;
  p99: string;
  requests: number;
}

function wrk(url: string): WrkResult {
  const out = execFileSync('wrk', ['-t2', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', url]).toString();
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  const p50 = /\s50%\s+(\S+)/.exec(out)?.[1] ?? '?';
  const p99 = /\s99%\s+(\S+)/.exec(out)?.[1] ?? '?';
  if (/Non-2xx/.test(out)) process.stdout.write(`warning: non-2xx responses for ${url}\n`);
  return { rps, p50, p99, requests };
}

function measure(name: string, url: string, processes: Record<string, number[]>): WrkResult {
  const before = Object.fromEntries(
    Object.entries(processes).map(([k, pids]) => [k, pids.reduce((s, p) => s + cpuSeconds(p), 0)]),
  );
  const r = wrk(url);
  const cpu = Object.entries(processes)
    .map(([k, pids]) => {
      const used = pids.reduce((s, p) => s + cpuSeconds(p), 0) - (before[k] ?? 0);
      return `${k} ${((used * 10_000) / r.requests).toFixed(3)}s`;
    })
    .join(', ');
  process.stdout.write(
    `${name.padEnd(34)} ${r.rps.toFixed(0).padStart(8)} req/s  p50 ${r.p50.padStart(8)}  p99 ${r.p99.padStart(8)}  CPU/10k: ${cpu}\n`,
  );
  return r;
}

function download(url: string): number {
  const out = execFileSync('curl', [
    '-s',
    '-o',
    '/dev/null',
    '-w',
    '%{speed_download} %{size_download}',
    url,
  ]).toString();
  const [speed, size] = out.split(' ').map(Number);
  if (size !== GiB) process.stdout.write(`warning: ${url} gave ${size} bytes\n`);
  return (speed ?? 0) / 1e6;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'kallithea-isapi-bench-'));
  const children: ChildProcess[] = [];
  try {
    const upstream = spawn(process.execPath, ['-e', upstreamSource], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(upstream);
    const upstreamPort = await new Promise<number>((resolve) =>
      upstream.stdout?.once('data', (c: Buffer) => resolve(Number(c.toString().trim()))),
    );
    const nginxPort = upstreamPort + 1;
    writeFileSync(
      join(dir, 'nginx.conf'),
      `worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 1024; }
http { access_log off; client_body_temp_path ${dir}; proxy_temp_path ${dir};
  fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  upstream up { server 127.0.0.1:${upstreamPort}; keepalive 64; }
  server { listen 127.0.0.1:${nginxPort};
    location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection "";
                 proxy_buffering off; } } }
`,
    );
    const nginx = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], {
      stdio: 'inherit',
    });
    children.push(nginx);
    const stack = await startStack({ upstream: `http://127.0.0.1:${upstreamPort}`, verify: false });
    await waitForBridge(stack);
    await new Promise((done) => setTimeout(done, 500));
    const hostPid = stack.host.child.pid ?? 0;
    const bridgePid = stack.bridgePid() ?? 0;
    const upstreamPid = upstream.pid ?? 0;
    process.stdout.write(
      `kallithea-isapi bench/e2e: 1 KiB responses, ${CONNECTIONS} connections, ${seconds} s each, ${TICKS} ticks/s\n`,
    );
    wrk(`http://127.0.0.1:${nginxPort}/warm`); // warm-up
    const direct = measure('(3) upstream alone', `http://127.0.0.1:${upstreamPort}/`, {
      upstream: [upstreamPid],
    });
    const viaNginx = measure('(1) nginx -> upstream', `http://127.0.0.1:${nginxPort}/`, {
      nginx: family(nginx.pid ?? 0),
      upstream: [upstreamPid],
    });
    const viaIsapi = measure('(2) host -> DLL -> bridge -> upstream', stack.url('/'), {
      host: [hostPid],
      bridge: [bridgePid],
      upstream: [upstreamPid],
    });
    process.stdout.write(
      `ratios: (2)/(1) = ${(viaIsapi.rps / viaNginx.rps).toFixed(2)} (target >= 0.20, issue 12), (2)/(3) = ${(viaIsapi.rps / direct.rps).toFixed(2)}, (1)/(3) = ${(viaNginx.rps / direct.rps).toFixed(2)}\n`,
    );
    const nginxGiB = download(`http://127.0.0.1:${nginxPort}/big?bytes=${GiB}`);
    const isapiGiB = download(stack.url(`/big?bytes=${GiB}`));
    process.stdout.write(
      `1 GiB download: (1) nginx ${nginxGiB.toFixed(0)} MB/s, (2) isapi path ${isapiGiB.toFixed(0)} MB/s (target >= 500, issue 12)\n`,
    );
    await stack.stop();
  } finally {
    for (const c of children) c.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
