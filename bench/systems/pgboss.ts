import { PgBoss, type WorkOptions } from 'pg-boss';
import { PG_URL, QUEUE, SCHEMAS } from '../config.js';
import { dropPgSchema, withPg } from '../db.js';
import type { Payload, Producer, SystemAdapter, WorkerHandle, WorkerOptions } from './types.js';

const schema = SCHEMAS.pgboss;

/**
 * pg-boss hands a worker a batch of jobs (`batchSize`) and completes the batch in one
 * statement when the handler resolves; `localConcurrency` runs that many fetch loops.
 * Measured on this machine (20,000 no-op jobs; jobs/s): batchSize = concurrency, the literal
 * mapping, reaches 1,800 (c10) and 7,200 (c50); 2 loops × 250 reach 20,000. So, like ours
 * (prefetch 500) and graphile-worker (localQueue 500), pg-boss fetches 500 ahead: 2 loops of
 * 250, each running its batch through concurrency / 2 lanes, so at most `concurrency`
 * handlers run at once. `burstWhenBatchFull` fetches again at once while batches come back full.
 */
export const PGBOSS_LOOPS = 2;
export const PGBOSS_BATCH = 250;

export function pgBossWorkOptions(): WorkOptions {
  return {
    localConcurrency: PGBOSS_LOOPS,
    batchSize: PGBOSS_BATCH,
    burstWhenBatchFull: true,
    pollingIntervalSeconds: 0.5,
    notifyPollingIntervalSeconds: 30,
  };
}

/** Runs a batch's jobs with at most `lanes` handlers at once. */
async function inLanes<T>(items: T[], lanes: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(lanes, items.length)) }, lane));
}

function boss(): PgBoss {
  const b = new PgBoss({
    connectionString: PG_URL,
    schema,
    useListenNotify: true,
    supervise: false,
    schedule: false,
    max: 10,
  });
  b.on('error', (err) => process.stderr.write(`[pg-boss] ${String(err)}\n`));
  return b;
}

export class PgBossAdapter implements SystemAdapter {
  readonly id = 'pg-boss';

  describe(concurrency: number): Record<string, unknown> {
    return { ...pgBossWorkOptions(), lanesPerLoop: Math.max(1, Math.floor(concurrency / PGBOSS_LOOPS)), queue: { notify: true }, useListenNotify: true, supervise: false, schedule: false, poolMax: 10 };
  }

  async reset(): Promise<void> {
    await dropPgSchema(schema);
    const b = boss();
    await b.start();
    await b.createQueue(QUEUE, { notify: true });
    await b.stop({ graceful: false });
  }

  async cleanup(): Promise<void> {
    await dropPgSchema(schema);
  }

  async producer(): Promise<Producer> {
    const b = boss();
    await b.start();
    return {
      enqueue: async (payload) => {
        await b.send(QUEUE, payload);
      },
      enqueueBulk: async (payloads) => {
        await b.insert(QUEUE, payloads.map((data) => ({ data })));
      },
      close: () => b.stop({ graceful: false }),
    };
  }

  async worker(options: WorkerOptions): Promise<WorkerHandle> {
    const b = boss();
    await b.start();
    const handler = options.handler;
    return {
      start: async () => {
        const lanes = Math.max(1, Math.floor(options.concurrency / PGBOSS_LOOPS));
        await b.work<Payload>(QUEUE, pgBossWorkOptions(), async (jobs) => {
          await inLanes(jobs, lanes, async (job) => handler(job.data));
        });
      },
      stop: () => b.stop({ graceful: true, timeout: 5000 }),
    };
  }

  async seedBacklog(count: number): Promise<void> {
    await withPg(async (c) => {
      await c.query(
        `INSERT INTO "${schema}".job (name, data, policy)
         SELECT $1, jsonb_build_object('i', g), 'standard' FROM generate_series(1, $2::int) g`,
        [QUEUE, count],
      );
      await c.query(`ANALYZE "${schema}".job_common`);
    });
  }
}
