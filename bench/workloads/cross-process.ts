import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Adapter } from '../systems/index.js';
import type { Payload } from '../systems/types.js';
import { percentile } from '../stats.js';
import { deferred, sleep } from './common.js';
import type { Params, Result } from './workloads.js';

/** A clock every process on the machine shares (CLOCK_MONOTONIC), in ms. */
export const sharedClockMs = () => Number(process.hrtime.bigint()) / 1e6;

/** What this process tells the producer process. */
export interface ProducerTask {
  system: string;
  jobs: number;
  warm: number;
  gapMs: number;
  settleMs: number;
}

/** What the producer process answers: when it called enqueue for each warm-up and measured job (`sharedClockMs`). */
export type ProducerReply = { ok: true; warmEnqueuedAt: number[]; enqueuedAt: number[] } | { ok: false; error: string };

const PRODUCER = fileURLToPath(new URL('./cross-process-producer.js', import.meta.url));

/** The worker's poll in this workload: the default, so only the wake-up path can be fast. */
const POLL_MS = 1000;

/**
 * 7. Across processes (SQLite): this process runs an idle worker; first its CPU use is measured
 * over `idleMs` with nothing to do, then another process enqueues `jobs` jobs one at a time,
 * `gapMs` apart, into the same database file. Latency: that process's enqueue call to the
 * handler's start here, on the machine's monotonic clock. `firstAfterIdleMs`: the same for the
 * first warm-up job, the first one after the idle spell (SQLite's change watch looks less
 * often after a quiet second).
 */
export async function crossProcess(a: Adapter, p: Params): Promise<Result> {
  const n = p.jobs!;
  const warm = 10;
  const idleMs = p.idleMs ?? 5000;
  await a.reset();
  const started = new Map<number, number>();
  const warmStarted = new Map<number, number>();
  const warmDone = deferred(p.timeoutMs, 'warm-up jobs');
  const done = deferred(p.timeoutMs, `${n} jobs from the producer process`);
  const worker = await a.worker({
    concurrency: 10,
    pollIntervalMs: POLL_MS,
    handler: (payload: Payload) => {
      const at = sharedClockMs();
      if (payload.i < 0) {
        warmStarted.set(-1 - payload.i, at);
        if (warmStarted.size === warm) warmDone.resolve();
        return;
      }
      started.set(payload.i, at);
      if (started.size === n) done.resolve();
    },
  });
  // The worker's timers never keep a process alive, and the producer may exit before its last jobs start here.
  const keepAlive = setInterval(() => undefined, 1000);
  await worker.start();
  try {
    // Idle means settled: SQLite's change watch looks every changePollMs for 1 s after the last
    // commit it saw (the worker's own start-up included), then slows down to 8 × that.
    await sleep(1500);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await sleep(idleMs);
    const cpu = process.cpuUsage(cpu0);
    const idleWallMs = performance.now() - t0;
    const idleCpuPct = ((cpu.user + cpu.system) / 1000 / idleWallMs) * 100;

    const reply = runProducer({ system: a.id, jobs: n, warm, gapMs: 5, settleMs: 300 }, p.timeoutMs);
    await warmDone.promise;
    const [answer] = await Promise.all([reply, done.promise]);
    if (!answer.ok) throw new Error(`producer process: ${answer.error}`);
    const lat = answer.enqueuedAt.map((t, i) => started.get(i)! - t);
    return {
      jobs: n,
      p50: percentile(lat, 50),
      p95: percentile(lat, 95),
      p99: percentile(lat, 99),
      max: Math.max(...lat),
      firstAfterIdleMs: warmStarted.get(0)! - answer.warmEnqueuedAt[0]!,
      idleCpuPct,
      idleSeconds: idleWallMs / 1000,
      pollIntervalMs: POLL_MS,
    };
  } finally {
    clearInterval(keepAlive);
    await worker.stop();
  }
}

function runProducer(task: ProducerTask, timeoutMs: number): Promise<ProducerReply> {
  return new Promise((resolve) => {
    const child = fork(PRODUCER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ ok: false, error: `no answer after ${timeoutMs} ms` });
    }, timeoutMs);
    child.once('message', (msg: ProducerReply) => {
      clearTimeout(timer);
      resolve(msg);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      // A reply sent just before exiting may still be in flight.
      setTimeout(() => resolve({ ok: false, error: `exited (${code}) without an answer` }), 200);
    });
    child.send(task);
  });
}
