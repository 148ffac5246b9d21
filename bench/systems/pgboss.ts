import { PgBoss, type WorkOptions } from 'pg-boss';
import { PG_URL, QUEUE, SCHEMAS } from '../config.js';
import { dropPgSchema, withPg } from '../db.js';
import type { Payload, Producer, SystemAdapter, WorkerHandle, WorkerOptions } from './types.js';

const schema = SCHEMAS.pgboss;

/**
 * pg-boss hands a worker a batch of jobs (`batchSize`) and completes the batch in one
 * statement when the handler resolves; `localConcurrency` runs that many fetch loops.
 * "Concurrency C" here means at most C jobs in handlers at once: `localConcurrency` loops of
 * `batchSize = C / localConcurrency`, fetching again at once while batches come back full.
 */
export function pgBossWorkOptions(concurrency: number): WorkOptions {
  const localConcurrency = Math.max(1, Math.round(concurrency / 10));
  return {
    localConcurrency,
    batchSize: Math.max(1, Math.floor(concurrency / localConcurrency)),
    burstWhenBatchFull: true,
    pollingIntervalSeconds: 0.5,
    notifyPollingIntervalSeconds: 30,
  };
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
    return { ...pgBossWorkOptions(concurrency), queue: { notify: true }, useListenNotify: true, supervise: false, schedule: false, poolMax: 10 };
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
        await b.work<Payload>(QUEUE, pgBossWorkOptions(options.concurrency), async (jobs) => {
          await Promise.all(jobs.map(async (job) => handler(job.data)));
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
