/**
 * `npx tsc -p tsconfig.bench.json && node dist/bench/flow-control-cost.js [--jobs=N] [--reps=N] [--storage=postgres,sqlite] [--jobMs=0]`
 *
 * Processing throughput of one instance (concurrency 10, prefetch 500) on a queue without
 * limits, with `globalConcurrency` equal to its slots (10), and with `groups: { concurrency: 10 }`
 * and the jobs spread over 10 groups, the three alternated per repetition. Each run stores N
 * jobs (no-ops, or each waiting `--jobMs`) in a paused queue, resumes it and times until the queue is idle. Prints the
 * median jobs/s of each and the ratios to the queue without limits.
 */
import { Module, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { rmSync } from 'node:fs';
import { Job, JobsModule, Processor, QueueService, type QueueOptions, type StorageConfig } from '../lib/index.js';
import { PG, TMP_DIR } from './config.js';
import { dropPgSchema, recreatePgSchema } from './db.js';

const QUEUE = 'flow';
const JOB_MS = Number(process.argv.find((a) => a.startsWith('--jobMs='))?.slice(8) ?? '0');
const SCHEMA = `bench_flow_control_${process.pid}`;
type Variant = 'none' | 'global' | 'groups';
const VARIANTS: Variant[] = ['none', 'global', 'groups'];
const OPTIONS: Record<Variant, QueueOptions> = {
  none: { concurrency: 10, prefetch: 500 },
  global: { concurrency: 10, prefetch: 500, globalConcurrency: 10 },
  groups: { concurrency: 10, prefetch: 500, groups: { concurrency: 10 } },
};

@Processor(QUEUE)
class NoopProcessor {
  @Job('noop')
  async noop() {
    if (JOB_MS > 0) await new Promise((r) => setTimeout(r, JOB_MS));
  }
}

function arg(name: string, fallback: string): string {
  return process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
}

function appModule(storage: StorageConfig, variant: Variant): DynamicModule {
  @Module({})
  class FlowApp {}
  return {
    module: FlowApp,
    imports: [JobsModule.forRoot({ storage, logger: false, queues: { [QUEUE]: OPTIONS[variant] }, pollIntervalMs: 100 })],
    providers: [NoopProcessor],
  };
}

async function once(kind: string, variant: Variant, jobs: number): Promise<number> {
  const file = `${TMP_DIR}/flow-control-${process.pid}.sqlite`;
  if (kind === 'postgres') await recreatePgSchema(SCHEMA);
  else for (const s of ['', '-wal', '-shm']) rmSync(`${file}${s}`, { force: true });
  const storage: StorageConfig = kind === 'postgres'
    ? { type: 'postgres', host: PG.host, port: PG.port, username: PG.user, database: PG.database, schema: SCHEMA, poolSize: 10 }
    : { type: 'sqlite', database: file };
  const app = await NestFactory.createApplicationContext(appModule(storage, variant), { logger: false });
  try {
    const queue = app.get(QueueService);
    await queue.pause(QUEUE);
    for (let i = 0; i < jobs; i += 1000) {
      await queue.enqueueMany(Array.from({ length: Math.min(1000, jobs - i) }, (_, k) => ({
        name: 'noop', payload: {}, options: variant === 'groups' ? { group: `g${(i + k) % 10}` } : {},
      })));
    }
    const t0 = performance.now();
    await queue.resume(QUEUE);
    await queue.onIdle(QUEUE);
    return jobs / ((performance.now() - t0) / 1000);
  } finally {
    await app.close();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const jobs = Number(arg('jobs', '20000'));
  const reps = Number(arg('reps', '3'));
  for (const kind of arg('storage', 'postgres,sqlite').split(',')) {
    const runs: Record<Variant, number[]> = { none: [], global: [], groups: [] };
    await once(kind, 'none', Math.min(jobs, 2000)); // warm-up
    for (let r = 0; r < reps; r++) {
      const order = [...VARIANTS.slice(r % 3), ...VARIANTS.slice(0, r % 3)];
      for (const v of order) runs[v].push(await once(kind, v, jobs));
    }
    if (kind === 'postgres') await dropPgSchema(SCHEMA);
    const none = median(runs.none);
    console.log(
      `${kind}: ${jobs} jobs of ${JOB_MS} ms × ${reps}: ` +
        VARIANTS.map((v) => `${v} ${median(runs[v]).toFixed(0)} jobs/s [${runs[v].map((x) => x.toFixed(0)).join(', ')}] (×${(median(runs[v]) / none).toFixed(3)})`).join('; '),
    );
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
