import { performance } from 'node:perf_hooks';
import type { Adapter } from '../systems/index.js';
import type { Payload, Producer } from '../systems/types.js';
import { percentile } from '../stats.js';
import { BULK_CHUNK, bulkSeed, deferred, payloads, peakRssMb, processCpuMs, sleep } from './common.js';

export interface Params {
  jobs?: number;
  concurrency?: number;
  backlog?: number;
  sameRuntime?: boolean;
  /** Workload 7: ms over which the idle worker's CPU use is measured. */
  idleMs?: number;
  timeoutMs: number;
}

export type Result = Record<string, number | string | boolean>;

const WARMUP = 100;

/** 1. One awaited enqueue call per job. */
export async function enqueueOne(a: Adapter, p: Params): Promise<Result> {
  const n = p.jobs!;
  await a.reset();
  const producer = await a.producer();
  try {
    for (let i = 0; i < WARMUP; i++) await producer.enqueue({ i: -1 - i });
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await producer.enqueue({ i });
    const ms = performance.now() - t0;
    return { jobs: n, ms, perSec: (n / ms) * 1000 };
  } finally {
    await producer.close();
  }
}

/** 2. Bulk enqueue in chunks of 1,000. */
export async function enqueueBulk(a: Adapter, p: Params): Promise<Result> {
  const n = p.jobs!;
  await a.reset();
  const producer = await a.producer();
  try {
    await producer.enqueueBulk(payloads(-BULK_CHUNK, BULK_CHUNK));
    const t0 = performance.now();
    await bulkSeed(producer, n);
    const ms = performance.now() - t0;
    return { jobs: n, ms, perSec: (n / ms) * 1000 };
  } finally {
    await producer.close();
  }
}

/** Setup of workload 3 (its own child, so the worker's memory is its own): `jobs` waiting. */
export async function seedJobs(a: Adapter, p: Params): Promise<Result> {
  await a.reset();
  const producer = await a.producer();
  try {
    await bulkSeed(producer, p.jobs!);
  } finally {
    await producer.close();
  }
  return { seeded: p.jobs! };
}

/** 3 + 6. Processing of `jobs` already queued, and the worker process's peak RSS. */
export async function processJobs(a: Adapter, p: Params): Promise<Result> {
  const n = p.jobs!;
  if (a.inProcess) await seedJobs(a, p);
  let count = 0;
  let first = 0;
  let last = 0;
  const done = deferred(p.timeoutMs, `${n} jobs to be handled`);
  const worker = await a.worker({
    concurrency: p.concurrency!,
    handler: () => {
      count++;
      if (count === 1) first = performance.now();
      if (count === n) {
        last = performance.now();
        done.resolve();
      }
    },
  });
  const pg0 = processCpuMs('postgres');
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await worker.start();
  let cpu: NodeJS.CpuUsage;
  let pg1: number | null;
  try {
    await done.promise;
  } finally {
    cpu = process.cpuUsage(cpu0);
    pg1 = processCpuMs('postgres');
    await worker.stop();
  }
  const ms = last - t0;
  // CPU spent per 1,000 jobs: this process, and every PostgreSQL backend (0 for other databases).
  const cpuMs = { workerCpuMsPer1k: ((cpu.user + cpu.system) / 1000 / n) * 1000, pgCpuMsPer1k: pg0 !== null && pg1 !== null ? ((pg1 - pg0) / n) * 1000 : -1 };
  return { jobs: n, ms, perSec: (n / ms) * 1000, firstToLastMs: last - first, handled: count, rssMb: peakRssMb(), ...cpuMs, ...worker.trace?.() };
}

/** 4. Latency at light load: idle worker, jobs enqueued one at a time `gapMs` apart. */
export async function latency(a: Adapter, p: Params): Promise<Result> {
  const n = p.jobs!;
  const gapMs = 5;
  const warm = n >= 200 ? 20 : 10;
  const settleMs = n >= 200 ? 300 : 100;
  await a.reset();
  const starts = new Map<number, number>();
  const lat: number[] = [];
  const warmDone = deferred(p.timeoutMs, 'warm-up jobs');
  const done = deferred(p.timeoutMs, `${n} latency jobs`);
  let warmSeen = 0;
  const worker = await a.worker({
    concurrency: 10,
    handler: (payload: Payload) => {
      const at = performance.now();
      if (payload.i < 0) {
        if (++warmSeen === warm) warmDone.resolve();
        return;
      }
      const t0 = starts.get(payload.i);
      if (t0 !== undefined) lat.push(at - t0);
      if (lat.length === n) done.resolve();
    },
  });
  const local = (worker as { localProducer?: Producer }).localProducer;
  const producer = p.sameRuntime && local ? local : await a.producer();
  await worker.start();
  try {
    await sleep(settleMs);
    for (let i = 0; i < warm; i++) {
      await producer.enqueue({ i: -1 - i });
      await sleep(gapMs);
    }
    await warmDone.promise;
    await sleep(settleMs);
    const base = performance.now();
    for (let i = 0; i < n; i++) {
      const wait = base + i * gapMs - performance.now();
      if (wait > 0) await sleep(wait);
      starts.set(i, performance.now());
      await producer.enqueue({ i });
    }
    await done.promise;
  } finally {
    await worker.stop();
    if (producer !== local) await producer.close();
  }
  return {
    jobs: n,
    p50: percentile(lat, 50),
    p95: percentile(lat, 95),
    p99: percentile(lat, 99),
    max: Math.max(...lat),
    mean: lat.reduce((s, x) => s + x, 0) / lat.length,
  };
}

/** Setup of workload 5: `backlog` jobs waiting, inserted by SQL where the system has a table. */
export async function seedBacklog(a: Adapter, p: Params): Promise<Result> {
  await a.reset();
  const t0 = performance.now();
  if (a.seedBacklog) {
    await a.seedBacklog(p.backlog!);
  } else {
    const producer = await a.producer();
    try {
      await bulkSeed(producer, p.backlog!, 10_000);
    } finally {
      await producer.close();
    }
  }
  return { backlog: p.backlog!, seedMs: performance.now() - t0, method: a.seedBacklog ? 'sql' : 'bulk-api' };
}

/**
 * 5. With `backlog` jobs waiting: time to claim and complete 1,000 jobs, averaged over 5,000
 * after 1,000 of warm-up (one window of 1,000 lasts 30-100 ms: too short to be stable).
 */
export async function backlog(a: Adapter, p: Params): Promise<Result> {
  const warm = 1000;
  const measured = 5000;
  let count = 0;
  let tWarm = 0;
  let tEnd = 0;
  const done = deferred(p.timeoutMs, `${warm + measured} jobs out of the backlog`);
  const worker = await a.worker({
    concurrency: p.concurrency ?? 10,
    handler: () => {
      count++;
      if (count === warm) tWarm = performance.now();
      if (count === warm + measured) {
        tEnd = performance.now();
        done.resolve();
      }
    },
  });
  await worker.start();
  try {
    await done.promise;
  } finally {
    await worker.stop();
  }
  const ms = tEnd - tWarm;
  return { backlog: p.backlog!, jobs: measured, ms: (ms / measured) * 1000, perSec: (measured / ms) * 1000 };
}
