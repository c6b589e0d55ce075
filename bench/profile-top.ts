// The top self-time items of a V8 CPU profile (node --cpu-prof, e.g. bench/bridge --cpu-prof),
// as a share of the time the process was not idle: what a profile says first, on a terminal.
// Functions are keyed by name and file:line, so the two copies of a name stay apart.
// Run: node dist/bench/profile-top.js <file.cpuprofile> [count]
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { functionName: string; url: string; lineNumber: number };
  readonly hitCount?: number;
}

interface Profile {
  readonly nodes: ProfileNode[];
  readonly samples: number[];
  readonly timeDeltas: number[];
}

const [file, countText] = process.argv.slice(2);
if (file === undefined) throw new Error('usage: profile-top.js <file.cpuprofile> [count]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;

const keyOf = new Map<number, string>();
for (const node of profile.nodes) {
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url === '' ? '' : ` ${basename(url)}:${lineNumber + 1}`;
  keyOf.set(node.id, `${functionName || '(anonymous)'}${where}`);
}
// Self time per sample from the deltas (the sampling interval varies under load).
const micros = new Map<string, number>();
let busy = 0;
for (let i = 0; i < profile.samples.length; i += 1) {
  const key = keyOf.get(profile.samples[i] as number) ?? '?';
  const delta = profile.timeDeltas[i + 1] ?? 0;
  micros.set(key, (micros.get(key) ?? 0) + delta);
  if (key !== '(idle)') busy += delta;
}
const top = [...micros.entries()]
  .filter(([key]) => key !== '(idle)')
  .sort((a, b) => b[1] - a[1])
  .slice(0, Number(countText ?? 25));
console.log(`${basename(file)}: ${(busy / 1e6).toFixed(2)} s busy`);
for (const [key, us] of top) {
  console.log(`${((100 * us) / busy).toFixed(1).padStart(5)}%  ${key}`);
}
