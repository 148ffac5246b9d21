/**
 * A flow of 1,000 children: the time from the last child's completion to the parent's start
 * (both on the database's clock), per storage, median of a few runs with one worker instance.
 * Run: npx tsc -p tsconfig.bench.json && node dist/bench/flow-wakeup.js [runs]
 */
import 'reflect-metadata';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Job, JobsModule, Processor, QueueService, type StorageConfig } from '../lib/index.js';
import { MARIADB, PG_URL, TMP_DIR } from './config.js';
import { dropPgSchema, recreateMariaDb, recreatePgSchema } from './db.js';

const CHILDREN = 1_000;
const RUNS = Number(process.argv[2] ?? 5);

@Processor('flowbench')
class FlowBench {
  @Job('child')
  child() {}

  @Job('parent')
  parent() {}
}

async function measure(storage: StorageConfig): Promise<number[]> {
  @Module({
    imports: [JobsModule.forRoot({ storage, queues: { flowbench: { concurrency: 50 } }, pollIntervalMs: 1_000, logger: false })],
    providers: [FlowBench],
  })
  class BenchModule {}
  const app = await NestFactory.createApplicationContext(BenchModule, { logger: false });
  await app.init();
  const queue = app.get(QueueService);
  const gaps: number[] = [];
  try {
    for (let run = 0; run < RUNS; run++) {
      const ids = await queue.flow({ job: 'parent', payload: {}, children: Array.from({ length: CHILDREN }, () => ({ job: 'child', payload: {} })) });
      for (;;) {
        const parent = (await queue.getJob(ids.id))!;
        if (parent.state === 'completed') break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const flow = (await queue.getFlow(ids.id))!;
      const last = Math.max(...flow.children.map((c) => c.job.completedAt!.getTime()));
      gaps.push(flow.job.startedAt!.getTime() - last);
    }
  } finally {
    await app.close();
  }
  return gaps;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  mkdirSync(TMP_DIR, { recursive: true });
  const file = join(TMP_DIR, 'flow-wakeup.sqlite');
  rmSync(file, { force: true });
  await recreatePgSchema('bench_flows');
  await recreateMariaDb();
  const targets: Array<[string, StorageConfig]> = [
    ['sqlite', { type: 'sqlite', database: file }],
    ['postgres', { type: 'postgres', url: PG_URL, schema: 'bench_flows' }],
    ['mariadb', { type: 'mariadb', url: `mysql://${MARIADB.user}@${MARIADB.host}:${MARIADB.port}/${MARIADB.database}` }],
  ];
  for (const [name, storage] of targets) {
    const gaps = await measure(storage);
    console.log(`${name}: last child completed → parent started, ${CHILDREN} children: median ${median(gaps)} ms (runs: ${gaps.join(', ')} ms)`);
  }
  await dropPgSchema('bench_flows');
  rmSync(file, { force: true });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
