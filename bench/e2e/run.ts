// Benchmark of the whole native path, figures only (nothing is asserted):
//   (1) nginx -> upstream (reverse proxy, keep-alive pool)
//   (2) isapi-host -> kallithea_isapi.so -> bridge -> upstream
//   (3) upstream alone
// 1 KiB responses, 64 connections, wrk; requests/s, p50/p99, CPU seconds per 10,000
// requests per process (from /proc/<pid>/stat), ratios; then 1 GiB through (1) and (2),
// down and up (a PUT of a sparse file: the upload a push of a big repository makes), each
// with the peak RSS (VmHWM, reset just before the transfer) of host, bridge and upstream.
//
// --rounds N: every measurement N times, interleaved (round i runs each path once), and
//   the medians printed at the end.
// --compare <checkout>: a second stack (2') from another built checkout (its host, addon,
//   DLL and bridge; say, main before a change), measured in the same rounds as (2): before
//   and after in one run, on a machine whose load swings between runs.
// --host-arg ARG (repeatable): an argument for this checkout's host (say, --write-buffer
//   262144), to try a setting against --compare's defaults.
// Run: npx tsc -p tsconfig.json && node dist/bench/e2e/run.js [seconds] [--rounds N]
//        [--compare <checkout>] [--host-arg ARG]...
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import * as thisCheckout from '../../test/e2e/support/stack.js';
import type { Stack } from '../../test/e2e/support/stack.js';

const args = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: 'string', default: '1' },
    compare: { type: 'string' },
    'host-arg': { type: 'string', multiple: true, default: [] },
  },
});
const seconds = Number(args.positionals[0] ?? '10');
const ROUNDS = Number(args.values.rounds);
const CONNECTIONS = 64;
const GiB = 1024 * 1024 * 1024;
const TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

const upstreamSource = `
const http = require('node:http');
const block = Buffer.alloc(1024, 120);
const big = Buffer.alloc(65536, 121);
const server = http.createServer((req, res) => {
  if (req.method === 'PUT') {
    let n = 0;
    req.on('data', (c) => { n += c.length; });
    req.on('end', () => { const text = String(n); res.writeHead(200, { 'Content-Length': text.length }); res.end(text); });
    return;
  }
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

/** CPU seconds per 10,000 requests, by process name. */
type CpuPer10k = Record<string, number>;

function measure(
  name: string,
  url: string,
  processes: Record<string, number[]>,
): WrkResult & { cpu: CpuPer10k } {
  const used = (pids: number[]): number => pids.reduce((s, p) => s + cpuSeconds(p), 0);
  const before = Object.fromEntries(Object.entries(processes).map(([k, pids]) => [k, used(pids)]));
  const r = wrk(url);
  const cpu: CpuPer10k = {};
  for (const [k, pids] of Object.entries(processes))
    cpu[k] = ((used(pids) - (before[k] ?? 0)) * 10_000) / r.requests;
  const text = Object.entries(cpu)
    .map(([k, s]) => `${k} ${s.toFixed(3)}s`)
    .join(', ');
  process.stdout.write(
    `${name.padEnd(38)} ${r.rps.toFixed(0).padStart(8)} req/s  p50 ${r.p50.padStart(8)}  p99 ${r.p99.padStart(8)}  CPU/10k: ${text}\n`,
  );
  return { ...r, cpu };
}

/** VmHWM (peak RSS; clearPeak() starts it again from the current RSS) or VmRSS, in MiB. */
function memoryMiB(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) / 1024;
  } catch {
    return NaN;
  }
}

function clearPeak(pid: number): void {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    // gone, or not ours: its figure will be the lifetime peak
  }
}

interface Transfer {
  mbs: number;
  /** Each process's RSS before the transfer, and its peak during it (MiB). */
  before: Record<string, number>;
  peak: Record<string, number>;
}

/**
 * MB/s of a 1 GiB download, or with `upload` (a 1 GiB file) of its PUT, and the RSS of each
 * process before and at its peak during it.
 */
function transfer(url: string, processes: Record<string, number> = {}, upload?: string): Transfer {
  const before = Object.fromEntries(
    Object.entries(processes).map(([k, pid]) => [k, memoryMiB(pid, 'VmRSS')]),
  );
  for (const pid of Object.values(processes)) clearPeak(pid);
  const direction = upload === undefined ? 'download' : 'upload';
  const out = execFileSync('curl', [
    '-s',
    '-o',
    '/dev/null',
    '-w',
    `%{speed_${direction}} %{size_${direction}} %{http_code}`,
    ...(upload === undefined ? [] : ['-T', upload]),
    url,
  ]).toString();
  const [speed, size, status] = out.split(' ').map(Number);
  if (size !== GiB || status !== 200) {
    process.stdout.write(`warning: ${direction} ${url}: ${size} bytes, status ${status}\n`);
  }
  const peak = Object.fromEntries(Object.entries(processes).map(([k, pid]) => [k, memoryMiB(pid, 'VmHWM')]));
  return { mbs: (speed ?? 0) / 1e6, before, peak };
}

/** `host 75 (from 66), bridge ...`: each process's peak RSS and where it started. */
function peaksText(t: Transfer): string {
  return Object.entries(t.peak)
    .map(([k, m]) => `${k} ${m.toFixed(0)} (from ${t.before[k]?.toFixed(0)})`)
    .join(', ');
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

type StackModule = typeof thisCheckout;

/** One isapi path under test: this checkout's, or --compare's. */
interface Variant {
  label: string;
  stack: Stack;
  /** Its figures, one per round. */
  rps: number[];
  hostCpu: number[];
  bridgeCpu: number[];
  mbs: number[];
  peaks: Record<string, number>[];
  upMbs: number[];
  upPeaks: Record<string, number>[];
}

async function startVariant(
  label: string,
  module: StackModule,
  upstream: string,
  hostArgs: string[] = [],
): Promise<Variant> {
  const stack = await module.startStack({ upstream, verify: false, hostArgs });
  await module.waitForBridge(stack);
  return { label, stack, rps: [], hostCpu: [], bridgeCpu: [], mbs: [], peaks: [], upMbs: [], upPeaks: [] };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'kallithea-isapi-bench-'));
  const children: ChildProcess[] = [];
  const variants: Variant[] = [];
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
                 proxy_buffering off; proxy_request_buffering off; client_max_body_size 0; } } }
`,
    );
    const nginx = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], {
      stdio: 'inherit',
    });
    children.push(nginx);
    const upstreamUrl = `http://127.0.0.1:${upstreamPort}`;
    // Sparse: reading it costs curl next to nothing, so the figure is the path's.
    const uploadFile = join(dir, 'upload.bin');
    writeFileSync(uploadFile, '');
    truncateSync(uploadFile, GiB);
    variants.push(await startVariant('this', thisCheckout, upstreamUrl, args.values['host-arg']));
    if (args.values.compare !== undefined) {
      const other = resolve(args.values.compare, 'dist/test/e2e/support/stack.js');
      const module = (await import(pathToFileURL(other).href)) as StackModule;
      variants.push(await startVariant(`compare (${args.values.compare})`, module, upstreamUrl));
    }
    await new Promise((done) => setTimeout(done, 500));
    const upstreamPid = upstream.pid ?? 0;
    process.stdout.write(
      `kallithea-isapi bench/e2e: 1 KiB responses, ${CONNECTIONS} connections, ${seconds} s each, ` +
        `${ROUNDS} round(s), ${TICKS} ticks/s\n`,
    );
    const processesOf = (v: Variant): Record<string, number> => ({
      host: v.stack.host.child.pid ?? 0,
      bridge: v.stack.bridgePid() ?? 0,
      upstream: upstreamPid,
    });
    wrk(`http://127.0.0.1:${nginxPort}/warm`); // warm-up
    const nginxRps: number[] = [];
    const nginxMbs: number[] = [];
    const nginxUpMbs: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      process.stdout.write(`round ${round}\n`);
      measure('(3) upstream alone', `${upstreamUrl}/`, { upstream: [upstreamPid] });
      nginxRps.push(
        measure('(1) nginx -> upstream', `http://127.0.0.1:${nginxPort}/`, {
          nginx: family(nginx.pid ?? 0),
          upstream: [upstreamPid],
        }).rps,
      );
      for (const v of variants) {
        const r = measure(`(2) ${v.label}`, v.stack.url('/'), {
          host: [v.stack.host.child.pid ?? 0],
          bridge: [v.stack.bridgePid() ?? 0],
          upstream: [upstreamPid],
        });
        v.rps.push(r.rps);
        v.hostCpu.push(r.cpu['host'] ?? NaN);
        v.bridgeCpu.push(r.cpu['bridge'] ?? NaN);
      }
      nginxMbs.push(transfer(`http://127.0.0.1:${nginxPort}/big?bytes=${GiB}`).mbs);
      for (const v of variants) {
        const down = transfer(v.stack.url(`/big?bytes=${GiB}`), processesOf(v));
        v.mbs.push(down.mbs);
        v.peaks.push(down.peak);
        process.stdout.write(
          `1 GiB (2) ${v.label}: ${down.mbs.toFixed(0)} MB/s (nginx ${nginxMbs.at(-1)?.toFixed(0)}); peak RSS MiB: ${peaksText(down)}\n`,
        );
      }
    }
    // Uploads after every download: what a receiving upstream keeps of 1 GiB would count
    // in the downloads' upstream peak.
    for (let round = 1; round <= ROUNDS; round++) {
      nginxUpMbs.push(transfer(`http://127.0.0.1:${nginxPort}/up`, {}, uploadFile).mbs);
      for (const v of variants) {
        const up = transfer(v.stack.url('/up'), processesOf(v), uploadFile);
        v.upMbs.push(up.mbs);
        v.upPeaks.push(up.peak);
        process.stdout.write(
          `1 GiB up (2) ${v.label}: ${up.mbs.toFixed(0)} MB/s (nginx ${nginxUpMbs.at(-1)?.toFixed(0)}); peak RSS MiB: ${peaksText(up)}\n`,
        );
      }
    }
    process.stdout.write(
      `medians of ${ROUNDS}: (1) nginx ${median(nginxRps).toFixed(0)} req/s, 1 GiB ${median(nginxMbs).toFixed(0)} MB/s, ` +
        `up ${median(nginxUpMbs).toFixed(0)} MB/s\n`,
    );
    for (const v of variants) {
      const ratios = v.rps.map((r, i) => r / (nginxRps[i] ?? NaN));
      const peak = (k: string, peaks = v.peaks): string => median(peaks.map((p) => p[k] ?? NaN)).toFixed(0);
      process.stdout.write(
        `  (2) ${v.label}: ${median(v.rps).toFixed(0)} req/s, (2)/(1) ${median(ratios).toFixed(3)} (target >= 0.20), ` +
          `CPU/10k host ${median(v.hostCpu).toFixed(3)}s (target <= 0.70) bridge ${median(v.bridgeCpu).toFixed(3)}s; ` +
          `1 GiB ${median(v.mbs).toFixed(0)} MB/s (target >= 500), peak RSS MiB host ${peak('host')} ` +
          `bridge ${peak('bridge')} upstream ${peak('upstream')} (target < 100 each); ` +
          `1 GiB up ${median(v.upMbs).toFixed(0)} MB/s, peak RSS MiB host ${peak('host', v.upPeaks)} ` +
          `bridge ${peak('bridge', v.upPeaks)} upstream ${peak('upstream', v.upPeaks)}\n`,
      );
    }
  } finally {
    for (const v of variants) await v.stack.stop();
    for (const c of children) c.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
