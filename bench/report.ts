import type { Row } from './plan.js';
import { fmt, median, range } from './stats.js';

export interface Sample {
  workload: Row['workload'];
  variant: string;
  label: string;
  system: string;
  rep: number;
  ok: boolean;
  result?: Record<string, number | string | boolean>;
  error?: string;
  /** Wall time of the whole row (every step, child start-up included), ms. */
  wallMs: number;
  /** Busy share of the CPUs just before the measured step (others share the machine). */
  cpuBusyBefore?: number | null;
}

export interface Cell {
  median: number;
  min: number;
  max: number;
  n: number;
  errors: string[];
}

/** Median and range of one metric of one row over the repetitions. */
export function cell(samples: Sample[], workload: string, variant: string, label: string, metric: string): Cell | undefined {
  const mine = samples.filter((s) => s.workload === workload && s.variant === variant && s.label === label);
  if (!mine.length) return undefined;
  const xs = mine.filter((s) => s.ok && typeof s.result?.[metric] === 'number').map((s) => s.result![metric] as number);
  const [min, max] = range(xs);
  return { median: median(xs), min, max, n: xs.length, errors: mine.filter((s) => !s.ok).map((s) => s.error ?? 'error') };
}

function show(c: Cell | undefined, digits = 0): string {
  if (!c) return '';
  if (!c.n) return `ERROR: ${c.errors[0] ?? 'no result'}`.replace(/\|/g, '/');
  const r = c.n > 1 ? ` (${fmt(c.min, digits)}–${fmt(c.max, digits)})` : '';
  const errs = c.errors.length ? ` [${c.errors.length} failed: ${c.errors[0]!.replace(/\|/g, '/')}]` : '';
  return `${fmt(c.median, digits)}${r}${errs}`;
}

function table(head: string[], lines: string[][]): string {
  const out = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`];
  for (const l of lines) out.push(`| ${l.join(' | ')} |`);
  return out.join('\n');
}

function labels(samples: Sample[], workload: string, variant?: string): string[] {
  const seen: string[] = [];
  for (const s of samples) {
    if (s.workload === workload && (variant === undefined || s.variant === variant) && !seen.includes(s.label)) seen.push(s.label);
  }
  return seen;
}

/** Every result table, in Markdown (it reads fine in a terminal too). */
export function tables(samples: Sample[], jobs: number, enqueueJobs: number, latencyJobs: number, backlogs: string[]): string {
  const parts: string[] = [];
  const has = (w: string) => samples.some((s) => s.workload === w);
  if (has('enqueue-one')) {
    parts.push(`### 1. Enqueue, one awaited call per job (${fmt(enqueueJobs)} jobs): jobs/s, median (range)`);
    parts.push(table(['system', 'jobs/s'], labels(samples, 'enqueue-one').map((l) => [l, show(cell(samples, 'enqueue-one', '', l, 'perSec'))])));
  }
  if (has('enqueue-bulk')) {
    parts.push(`### 2. Bulk enqueue, chunks of 1,000 (${fmt(jobs)} jobs): jobs/s`);
    parts.push(table(['system', 'jobs/s'], labels(samples, 'enqueue-bulk').map((l) => [l, show(cell(samples, 'enqueue-bulk', '', l, 'perSec'))])));
  }
  if (has('process')) {
    parts.push(`### 3. Processing ${fmt(jobs)} queued jobs, no-op handler: jobs/s (worker start to last handler)`);
    const ls = labels(samples, 'process').filter((l) => l !== labels(samples, 'process', 'ceiling')[0]);
    const lines = ls.map((l) => [l, show(cell(samples, 'process', 'c10', l, 'perSec')), show(cell(samples, 'process', 'c50', l, 'perSec'))]);
    for (const l of labels(samples, 'process', 'ceiling')) {
      const c = show(cell(samples, 'process', 'ceiling', l, 'perSec'));
      lines.push([l, c, c]);
    }
    parts.push(table(['system', 'concurrency 10', 'concurrency 50'], lines));
    parts.push(`### 6. Peak RSS of the worker process in workload 3: MB`);
    parts.push(table(['system', 'concurrency 10', 'concurrency 50'], ls.map((l) => [l, show(cell(samples, 'process', 'c10', l, 'rssMb')), show(cell(samples, 'process', 'c50', l, 'rssMb'))])));
  }
  if (has('latency')) {
    parts.push(`### 4. Latency at light load (${latencyJobs} jobs, 5 ms apart, idle worker): enqueue call to handler start, ms`);
    parts.push(table(['system', 'p50', 'p95', 'p99', 'max'], labels(samples, 'latency').map((l) => [
      l,
      ...['p50', 'p95', 'p99', 'max'].map((m) => show(cell(samples, 'latency', '', l, m), 2)),
    ])));
  }
  if (has('cross-process')) {
    parts.push(
      `### 7. Across processes, SQLite (${latencyJobs} jobs, 5 ms apart, from another process into the same file; the worker polls every 1 s): ` +
        'enqueue call to handler start, ms (and for the first job after the idle spell); the idle worker process\'s CPU, % of one core',
    );
    parts.push(table(['system', 'p50', 'p95', 'p99', 'max', 'first after idle', 'idle CPU %'], labels(samples, 'cross-process').map((l) => [
      l,
      ...['p50', 'p95', 'p99', 'max', 'firstAfterIdleMs'].map((m) => show(cell(samples, 'cross-process', '', l, m), 2)),
      show(cell(samples, 'cross-process', '', l, 'idleCpuPct'), 2),
    ])));
  }
  if (has('backlog')) {
    const [a, b] = backlogs;
    parts.push(`### 5. Backlog (PostgreSQL): ms to claim and complete 1,000 jobs (mean over 5,000 after 1,000 of warm-up), concurrency 10`);
    parts.push(table(['system', `${a} waiting`, `${b} waiting`, `ratio ${b}/${a}`], labels(samples, 'backlog').map((l) => {
      const x = cell(samples, 'backlog', a!, l, 'ms');
      const y = cell(samples, 'backlog', b!, l, 'ms');
      const ratio = x?.n && y?.n ? fmt(y.median / x.median, 2) : '–';
      return [l, show(x, 1), show(y, 1), ratio];
    })));
  }
  if (has('ceiling') || has('process') || has('enqueue-one')) {
    parts.push(`### The database's own ceiling (PostgreSQL)`);
    const lines: string[][] = [];
    for (const l of labels(samples, 'ceiling')) {
      lines.push([`${l}: single-row UPDATE tps`, show(cell(samples, 'ceiling', '', l, 'updateTps'))]);
      lines.push([`${l}: single-row INSERT tps`, show(cell(samples, 'ceiling', '', l, 'insertTps'))]);
    }
    for (const l of labels(samples, 'enqueue-one').filter((x) => x.startsWith('bare'))) {
      lines.push([`${l}: awaited INSERTs/s`, show(cell(samples, 'enqueue-one', '', l, 'perSec'))]);
    }
    for (const l of labels(samples, 'process', 'ceiling')) {
      lines.push([`${l}: jobs/s`, show(cell(samples, 'process', 'ceiling', l, 'perSec'))]);
    }
    parts.push(table(['measure', 'per second'], lines));
  }
  return parts.join('\n\n');
}

export interface Target {
  target: string;
  measured: string;
  met: boolean | null;
}

/** The targets, from medians of this run. `ours` is the row standing for ours on PostgreSQL. */
export function targets(samples: Sample[], ours: string, oursSqlite: string, backlogs: string[]): Target[] {
  const m = (w: string, v: string, l: string, metric: string) => {
    const c = cell(samples, w, v, l, metric);
    return c && c.n ? c.median : undefined;
  };
  const out: Target[] = [];
  const ratio = (name: string, a: number | undefined, b: number | undefined, need: number, unit = '×') => {
    if (a === undefined || b === undefined) {
      out.push({ target: name, measured: 'not measured', met: null });
      return;
    }
    const r = a / b;
    out.push({ target: name, measured: `${fmt(r, 2)}${unit} (${fmt(a)} vs ${fmt(b)})`, met: r >= need });
  };
  for (const c of ['c10', 'c50']) {
    const conc = c.slice(1);
    const our = m('process', c, ours, 'perSec');
    ratio(`processing c${conc}: ${ours} ≥ 1.5× graphile-worker`, our, m('process', c, 'graphile-worker', 'perSec'), 1.5);
    ratio(`processing c${conc}: ${ours} ≥ 3× pg-boss`, our, m('process', c, 'pg-boss', 'perSec'), 3);
    ratio(`processing c${conc}: ${ours} ≥ 2× bullmq-redis`, our, m('process', c, 'bullmq-redis', 'perSec'), 2);
    const ceilingLabel = labels(samples, 'process', 'ceiling')[0];
    const ceil = ceilingLabel ? m('process', 'ceiling', ceilingLabel, 'perSec') : undefined;
    out.push({
      target: `processing c${conc}: ${ours} as a fraction of the bare batched-SQL ceiling (reported)`,
      measured: our !== undefined && ceil !== undefined ? `${fmt((our / ceil) * 100, 0)}% (${fmt(our)} of ${fmt(ceil)})` : 'not measured',
      met: null,
    });
    ratio(`processing c${conc}: ${oursSqlite} ≥ 2× graphile-worker (PostgreSQL)`, m('process', c, oursSqlite, 'perSec'), m('process', c, 'graphile-worker', 'perSec'), 2);
  }
  const bare = labels(samples, 'enqueue-one').find((l) => l.startsWith('bare'));
  ratio(`one-call enqueue: ${ours} ≥ 0.8× bare pg INSERT`, m('enqueue-one', '', ours, 'perSec'), bare ? m('enqueue-one', '', bare, 'perSec') : undefined, 0.8);
  ratio(`bulk enqueue: ${ours} ≥ 1.5× graphile-worker addJobs`, m('enqueue-bulk', '', ours, 'perSec'), m('enqueue-bulk', '', 'graphile-worker', 'perSec'), 1.5);
  const notifyLabel = labels(samples, 'latency').find((l) => l.startsWith(`${ours} (LISTEN`)) ?? labels(samples, 'latency').find((l) => l.startsWith(ours));
  const p50 = notifyLabel ? m('latency', '', notifyLabel, 'p50') : undefined;
  const p99 = notifyLabel ? m('latency', '', notifyLabel, 'p99') : undefined;
  const bullP50 = m('latency', '', 'bullmq-redis', 'p50');
  out.push({
    target: `latency: ${notifyLabel ?? ours} p50 ≤ bullmq-redis p50`,
    measured: p50 !== undefined && bullP50 !== undefined ? `${fmt(p50, 2)} ms vs ${fmt(bullP50, 2)} ms` : 'not measured',
    met: p50 !== undefined && bullP50 !== undefined ? p50 <= bullP50 : null,
  });
  out.push({ target: `latency: ${notifyLabel ?? ours} p99 ≤ 5 ms`, measured: p99 !== undefined ? `${fmt(p99, 2)} ms` : 'not measured', met: p99 !== undefined ? p99 <= 5 : null });
  // The same targets for the producer in the worker's own runtime (the local hand-off), reported beside them.
  const localLabel = labels(samples, 'latency').find((l) => l.startsWith(`${ours} (producer in the worker's runtime`));
  if (localLabel) {
    const lp50 = m('latency', '', localLabel, 'p50');
    const lp99 = m('latency', '', localLabel, 'p99');
    out.push({
      target: `latency: ${localLabel} p50 ≤ bullmq-redis p50`,
      measured: lp50 !== undefined && bullP50 !== undefined ? `${fmt(lp50, 2)} ms vs ${fmt(bullP50, 2)} ms` : 'not measured',
      met: lp50 !== undefined && bullP50 !== undefined ? lp50 <= bullP50 : null,
    });
    out.push({ target: `latency: ${localLabel} p99 ≤ 5 ms`, measured: lp99 !== undefined ? `${fmt(lp99, 2)} ms` : 'not measured', met: lp99 !== undefined ? lp99 <= 5 : null });
  }
  const cross = labels(samples, 'cross-process')[0];
  if (cross) {
    const limit = (metric: string, max: number, unit: string, what: string) => {
      const v = m('cross-process', '', cross, metric);
      out.push({ target: `across processes: ${cross} ${what} ≤ ${max}${unit}`, measured: v !== undefined ? `${fmt(v, 2)}${unit}` : 'not measured', met: v !== undefined ? v <= max : null });
    };
    limit('p50', 10, ' ms', 'p50');
    limit('p99', 30, ' ms', 'p99');
    limit('idleCpuPct', 1, '%', 'idle worker CPU (of one core)');
  }
  out.push(...defaultsTargets(samples, [ours, oursSqlite]));
  const [a, b] = backlogs;
  const x = m('backlog', a!, ours, 'ms');
  const y = m('backlog', b!, ours, 'ms');
  out.push({
    target: `backlog: ${ours} claim cost at ${b} ≤ 1.3× at ${a}`,
    measured: x !== undefined && y !== undefined ? `${fmt(y / x, 2)}× (${fmt(y, 1)} ms vs ${fmt(x, 1)} ms per 1,000 jobs)` : 'not measured',
    met: x !== undefined && y !== undefined ? y / x <= 1.3 : null,
  });
  for (const c of ['c10', 'c50']) {
    const peers = labels(samples, 'process', c).filter((l) => !l.startsWith('ours') && !l.startsWith('bare'));
    const peerRss = peers.map((l) => [l, m('process', c, l, 'rssMb')] as const).filter((p): p is readonly [string, number] => p[1] !== undefined);
    const our = m('process', c, ours, 'rssMb');
    if (our === undefined || !peerRss.length) {
      out.push({ target: `worker RSS (${c}): ${ours} ≤ lowest peer`, measured: 'not measured', met: null });
      continue;
    }
    const [low, lowRss] = peerRss.reduce((best, p) => (p[1] < best[1] ? p : best));
    out.push({ target: `worker RSS (${c}): ${ours} ≤ lowest peer`, measured: `${fmt(our, 1)} MB vs ${low} ${fmt(lowRss, 1)} MB`, met: our <= lowRss });
  }
  return out;
}

/**
 * Ours with the module's defaults (`<row>-defaults`) against the same row tuned (prefetch 500):
 * processing at ≥ 0.9× at both concurrencies, and latency not worse (within 10% + 0.25 ms,
 * the noise of a sub-millisecond median).
 */
function defaultsTargets(samples: Sample[], tunedRows: string[]): Target[] {
  const out: Target[] = [];
  const m = (w: string, v: string, l: string, metric: string) => {
    const c = cell(samples, w, v, l, metric);
    return c && c.n ? c.median : undefined;
  };
  for (const tuned of tunedRows) {
    const defaults = `${tuned}-defaults`;
    if (!samples.some((s) => s.system === defaults)) continue;
    for (const c of ['c10', 'c50']) {
      const d = m('process', c, defaults, 'perSec');
      const t = m('process', c, tuned, 'perSec');
      out.push({
        target: `processing ${c}: ${defaults} ≥ 0.9× ${tuned} (prefetch 500)`,
        measured: d !== undefined && t !== undefined ? `${fmt(d / t, 2)}× (${fmt(d)} vs ${fmt(t)})` : 'not measured',
        met: d !== undefined && t !== undefined ? d / t >= 0.9 : null,
      });
    }
    for (const label of labels(samples, 'latency').filter((l) => l.startsWith(`${tuned} (`))) {
      const twin = `${defaults}${label.slice(tuned.length)}`;
      for (const metric of ['p50', 'p99']) {
        const d = m('latency', '', twin, metric);
        const t = m('latency', '', label, metric);
        out.push({
          target: `latency ${metric}: ${twin} not worse than tuned (≤ 1.1× + 0.25 ms)`,
          measured: d !== undefined && t !== undefined ? `${fmt(d, 2)} ms vs ${fmt(t, 2)} ms` : 'not measured',
          met: d !== undefined && t !== undefined ? d <= t * 1.1 + 0.25 : null,
        });
      }
    }
  }
  return out;
}

export function targetTable(ts: Target[]): string {
  return table(['target', 'measured (medians)', 'met?'], ts.map((t) => [t.target, t.measured, t.met === null ? '–' : t.met ? 'met' : 'MISSED']));
}
