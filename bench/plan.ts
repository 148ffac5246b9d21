import type { Task } from './child.js';

export type WorkloadId = 'enqueue-one' | 'enqueue-bulk' | 'process' | 'latency' | 'cross-process' | 'backlog' | 'ceiling';

export interface Sizes {
  quick: boolean;
  jobs: number;
  /** Jobs of workload 1 (one awaited call each: the slow one). */
  enqueueJobs: number;
  reps: number;
  latencyJobs: number;
  /** Workload 7: ms of the idle worker's CPU measurement. */
  idleMs: number;
  backlogs: [number, number];
  pgbenchSeconds: number;
}

export const FULL: Sizes = { quick: false, jobs: 20_000, enqueueJobs: 20_000, reps: 3, latencyJobs: 500, idleMs: 5_000, backlogs: [10_000, 1_000_000], pgbenchSeconds: 5 };
export const QUICK: Sizes = { quick: true, jobs: 2_000, enqueueJobs: 1_000, reps: 1, latencyJobs: 100, idleMs: 5_000, backlogs: [10_000, 50_000], pgbenchSeconds: 1 };

/** One line of a result table: a system (or the bare database) under one workload variant. */
export interface Row {
  workload: WorkloadId;
  variant: string;
  label: string;
  system: string;
  /** Run in order, each in its own child; the last one is measured. */
  steps: Task[];
}

export const PG_SYSTEMS = ['ours-pg', 'graphile-worker', 'pg-boss', 'bullmq-pg'];
const CEILING = 'database';

export function kLabel(n: number): string {
  return n >= 1_000_000 ? `${n / 1_000_000}M` : `${n / 1000}k`;
}

function timeouts(s: Sizes) {
  const k = s.quick ? 0.5 : 1;
  return {
    enqueue: 240_000 * k,
    seed: 240_000 * k,
    process: 180_000 * k,
    latency: 90_000 * k,
    seedBacklog: 300_000 * k,
    backlog: 120_000 * k,
    ceiling: 120_000 * k,
  };
}

/** The rows of every workload, for the chosen systems. */
export function buildPlan(systems: string[], s: Sizes, workloads: Set<WorkloadId>): Row[] {
  const t = timeouts(s);
  const rows: Row[] = [];
  const has = (w: WorkloadId) => workloads.has(w);
  const task = (task: Task['task'], system: string, params: Partial<Task['params']>, timeoutMs: number): Task => ({
    task,
    system,
    params: { ...params, timeoutMs },
  });

  if (has('enqueue-one')) {
    for (const sys of systems) {
      rows.push({ workload: 'enqueue-one', variant: '', label: sys, system: sys, steps: [task('enqueue-one', sys, { jobs: s.enqueueJobs }, t.enqueue)] });
    }
    rows.push({ workload: 'enqueue-one', variant: '', label: 'bare pg INSERT (1 connection)', system: CEILING, steps: [task('ceiling-insert', CEILING, { jobs: s.enqueueJobs }, t.ceiling)] });
  }
  if (has('enqueue-bulk')) {
    for (const sys of systems) {
      rows.push({ workload: 'enqueue-bulk', variant: '', label: sys, system: sys, steps: [task('enqueue-bulk', sys, { jobs: s.jobs }, t.enqueue)] });
    }
  }
  if (has('process')) {
    for (const c of [10, 50]) {
      for (const sys of systems) {
        const params = { jobs: s.jobs, concurrency: c };
        const steps = sys === 'ours-memory'
          ? [task('process', sys, params, t.process)]
          : [task('seed', sys, params, t.seed), task('process', sys, params, t.process)];
        rows.push({ workload: 'process', variant: `c${c}`, label: sys, system: sys, steps });
      }
    }
    rows.push({
      workload: 'process',
      variant: 'ceiling',
      label: 'bare SQL: claim 500 + batched complete',
      system: CEILING,
      steps: [task('ceiling-claim', CEILING, { jobs: s.jobs }, t.ceiling)],
    });
  }
  if (has('latency')) {
    for (const sys of systems) {
      const ours = sys.startsWith('ours-');
      const pg = sys === 'ours-pg' || sys === 'ours-pg-defaults';
      if (pg) {
        rows.push({
          workload: 'latency', variant: '', label: `${sys} (LISTEN/NOTIFY, producer in another runtime)`, system: sys,
          steps: [task('latency', sys, { jobs: s.latencyJobs, sameRuntime: false }, t.latency)],
        });
      }
      rows.push({
        workload: 'latency', variant: '', label: ours ? `${sys} (producer in the worker's runtime${pg ? ': local hand-off' : ''})` : sys, system: sys,
        steps: [task('latency', sys, { jobs: s.latencyJobs, sameRuntime: ours }, t.latency)],
      });
    }
  }
  if (has('cross-process') && systems.includes('ours-sqlite')) {
    rows.push({
      workload: 'cross-process', variant: '', label: 'ours-sqlite (producer in another process)', system: 'ours-sqlite',
      steps: [task('cross-process', 'ours-sqlite', { jobs: s.latencyJobs, idleMs: s.idleMs }, t.latency + s.idleMs)],
    });
  }
  if (has('backlog')) {
    for (const b of s.backlogs) {
      for (const sys of systems.filter((x) => PG_SYSTEMS.includes(x))) {
        const params = { backlog: b, concurrency: 10 };
        rows.push({
          workload: 'backlog', variant: kLabel(b), label: sys, system: sys,
          steps: [task('seed-backlog', sys, params, t.seedBacklog), task('backlog', sys, params, t.backlog)],
        });
      }
    }
  }
  if (has('ceiling')) {
    rows.push({ workload: 'ceiling', variant: '', label: 'pgbench, 10 clients', system: CEILING, steps: [task('pgbench', CEILING, { jobs: s.pgbenchSeconds }, t.ceiling)] });
  }
  return rows;
}

/** Rows of one workload in the order of repetition `rep`: rotated, so no system always runs first. */
export function rotate<T>(xs: T[], by: number): T[] {
  if (!xs.length) return xs;
  const k = by % xs.length;
  return [...xs.slice(k), ...xs.slice(0, k)];
}
