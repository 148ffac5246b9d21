/**
 * `node dist/bench/profile-top.js <file.cpuprofile> [n]`: self time by function (and by
 * package / file), the quick look at a profile written by `npm run bench -- --profile`.
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const [file, nArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: node dist/bench/profile-top.js <file.cpuprofile> [n]');
  process.exit(2);
}
const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
const total = [...self.values()].reduce((s, x) => s + x, 0);

const where = (url: string) => {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1]!;
  if (url.includes('/dist/lib/')) return `ours:${url.split('/dist/lib/')[1]}`;
  if (url.includes('/dist/bench/')) return `bench:${url.split('/dist/bench/')[1]}`;
  return url.startsWith('node:') ? url : url ? url.split('/').slice(-1)[0]! : '(native/gc/idle)';
};

const fnTotals = new Map<string, number>();
const pkgTotals = new Map<string, number>();
for (const [id, us] of self) {
  const n = byId.get(id)!;
  const f = n.callFrame;
  const key = `${f.functionName || '(anonymous)'}  ${where(f.url)}:${f.lineNumber + 1}`;
  fnTotals.set(key, (fnTotals.get(key) ?? 0) + us);
  const pkg = f.functionName === '(idle)' ? '(idle)' : f.functionName === '(garbage collector)' ? '(gc)' : where(f.url);
  pkgTotals.set(pkg, (pkgTotals.get(pkg) ?? 0) + us);
}
const top = (m: Map<string, number>, n: number) =>
  [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, n)
    .map(([k, us]) => `${(us / 1000).toFixed(1).padStart(8)} ms ${((us / total) * 100).toFixed(1).padStart(5)}%  ${k}`).join('\n');
console.log(`${file}: ${(total / 1000).toFixed(0)} ms sampled\n\nby package / file:\n${top(pkgTotals, 15)}\n\nby function (self):\n${top(fnTotals, Number(nArg ?? 30))}`);
