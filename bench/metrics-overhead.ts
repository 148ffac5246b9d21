/**
 * `npx tsc -p tsconfig.bench.json && node dist/bench/metrics-overhead.js [--jobs=N] [--reps=N] [--storage=memory,postgres]`
 *
 * First, the metrics' own cost per job, alone: one job's events (enqueued, started, completed)
 * pushed through a bare event stream, with and without `JobsMetrics` subscribed.
 *
 * Processing throughput of a Nest app with and without the observability modules loaded
 * (`JobsMetricsModule`: counters and histograms fed by every job's events; `JobsTelemetryModule`:
 * the tracing middleware, on the OpenTelemetry API with no SDK registered), the two alternated per repetition. Each
 * run stores N jobs in a paused queue, resumes it and times until the queue is idle. Prints
 * jobs/s and this process's CPU µs per job for each variant (medians of the repetitions) and the ratios.
 */
import { Module, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Registry } from 'prom-client';
import { Subject } from 'rxjs';
import type { JobEvent } from '../lib/core/job-events.js';
import { Job, JobsModule, Processor, QueueService, type StorageConfig } from '../lib/index.js';
import { JobsMetrics, JobsMetricsModule } from '../lib/metrics/index.js';
import { JobsTelemetryModule } from '../lib/otel/index.js';
import { PG } from './config.js';
import { dropPgSchema, recreatePgSchema } from './db.js';

const QUEUE = 'overhead';
const SCHEMA = `bench_metrics_overhead_${process.pid}`;

@Processor(QUEUE)
class NoopProcessor {
  @Job('noop')
  noop() {}
}

function arg(name: string, fallback: string): string {
  return process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
}

function appModule(storage: StorageConfig, metrics: boolean): DynamicModule {
  @Module({})
  class OverheadApp {}
  return {
    module: OverheadApp,
    imports: [
      JobsModule.forRoot({ storage, logger: false, queues: { [QUEUE]: { concurrency: 10, prefetch: 500 } }, pollIntervalMs: 100 }),
      ...(metrics ? [JobsMetricsModule.forRoot({ registry: new Registry() }), JobsTelemetryModule.forRoot()] : []),
    ],
    providers: [NoopProcessor],
  };
}

interface Run {
  /** Jobs per second of wall-clock time. */
  rate: number;
  /** This process's CPU time (user + system) per job, µs: less sensitive than the rate to other load on the machine. */
  cpuUs: number;
}

async function once(storage: StorageConfig, metrics: boolean, jobs: number): Promise<Run> {
  if ('schema' in storage) await recreatePgSchema(SCHEMA);
  const app = await NestFactory.createApplicationContext(appModule(storage, metrics), { logger: false });
  try {
    const queue = app.get(QueueService);
    await queue.pause(QUEUE);
    for (let i = 0; i < jobs; i += 1000) {
      await queue.enqueueMany(Array.from({ length: Math.min(1000, jobs - i) }, () => ({ name: 'noop', payload: {} })));
    }
    // onIdle() polls the storage's counts: no subscriber of ours on events$, so without the
    // metrics module no job event is even built (the executor skips them when nobody listens).
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    await queue.resume(QUEUE);
    await queue.onIdle(QUEUE);
    const cpu = process.cpuUsage(cpu0);
    return { rate: jobs / ((performance.now() - t0) / 1000), cpuUs: (cpu.user + cpu.system) / jobs };
  } finally {
    await app.close();
  }
}

/** µs per job of pushing its three events through a stream, with `JobsMetrics` subscribed or a no-op subscriber. */
function eventCost(metrics: boolean, jobs: number): number {
  const events = new Subject<JobEvent>();
  const queue = { events$: events.asObservable(), stats: () => Promise.resolve([]), oldestAvailable: () => Promise.resolve([]), workerStatus: () => ({ queues: {} }) };
  const m = new JobsMetrics(queue as unknown as QueueService, { registry: new Registry(), prefix: 'jobs_' });
  if (metrics) m.onModuleInit();
  else events.subscribe(() => undefined);
  const t0 = performance.now();
  for (let i = 0; i < jobs; i++) {
    const jobId = String(i);
    events.next({ type: 'enqueued', jobId, name: 'noop', queue: QUEUE, attempt: 0, at: i, duplicate: false });
    events.next({ type: 'started', jobId, name: 'noop', queue: QUEUE, attempt: 1, at: i, dueAt: i, waitMs: 3 });
    events.next({ type: 'completed', jobId, name: 'noop', queue: QUEUE, attempt: 1, at: i, durationMs: 1, result: undefined });
  }
  const us = ((performance.now() - t0) * 1000) / jobs;
  m.onModuleDestroy();
  return us;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const jobs = Number(arg('jobs', '20000'));
  const reps = Number(arg('reps', '5'));
  const micro: Record<'without' | 'with', number[]> = { without: [], with: [] };
  for (let r = 0; r < 7; r++) for (const v of ['without', 'with'] as const) micro[v].push(eventCost(v === 'with', 200_000));
  console.log(
    `events alone: ${median(micro.without).toFixed(2)} µs/job without metrics, ${median(micro.with).toFixed(2)} with: ` +
      `the metrics add ${(median(micro.with) - median(micro.without)).toFixed(2)} µs per job`,
  );
  for (const kind of arg('storage', 'memory,postgres').split(',')) {
    const storage: StorageConfig =
      kind === 'postgres'
        ? { type: 'postgres', host: PG.host, port: PG.port, username: PG.user, database: PG.database, schema: SCHEMA, poolSize: 10 }
        : { type: 'memory' };
    const runs: Record<'without' | 'with', Run[]> = { without: [], with: [] };
    await once(storage, false, Math.min(jobs, 2000)); // warm-up
    for (let r = 0; r < reps; r++) {
      // Alternate which variant goes first, so a drift in the machine's load hits both alike.
      const order: ('without' | 'with')[] = r % 2 ? ['with', 'without'] : ['without', 'with'];
      for (const v of order) runs[v].push(await once(storage, v === 'with', jobs));
    }
    if (kind === 'postgres') await dropPgSchema(SCHEMA);
    const rate = (v: 'without' | 'with') => median(runs[v].map((r) => r.rate));
    const cpu = (v: 'without' | 'with') => median(runs[v].map((r) => r.cpuUs));
    const list = (v: 'without' | 'with') => runs[v].map((r) => r.rate.toFixed(0)).join(', ');
    console.log(
      `${kind}: ${jobs} jobs × ${reps}: without metrics and tracing ${rate('without').toFixed(0)} jobs/s [${list('without')}], ${cpu('without').toFixed(1)} µs CPU/job; ` +
        `with ${rate('with').toFixed(0)} jobs/s [${list('with')}], ${cpu('with').toFixed(1)} µs CPU/job; ` +
        `throughput ratio ${(rate('with') / rate('without')).toFixed(3)}, CPU ratio ${(cpu('with') / cpu('without')).toFixed(3)}`,
    );
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
