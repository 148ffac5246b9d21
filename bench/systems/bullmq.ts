import { Queue, Worker, createPostgresBackend, withBackend, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { JOB_NAME, PG_URL, QUEUE, REDIS, SCHEMAS } from '../config.js';
import { dropPgSchema, recreatePgSchema, withPg } from '../db.js';
import type { Payload, Producer, SystemAdapter, WorkerHandle, WorkerOptions } from './types.js';

export type BullBackend = 'redis' | 'postgres';

const schema = SCHEMAS.bullmq;
const pgClasses = withBackend(createPostgresBackend);

/** BullMQ's PostgreSQL backend: a pool per Queue/Worker plus one LISTEN connection. */
function pgConnection(poolMax: number) {
  return { connectionString: PG_URL, schema, max: poolMax, migrate: true };
}

const redisConnection = { host: REDIS.host, port: REDIS.port, db: REDIS.db, maxRetriesPerRequest: null };

interface QueueLike {
  add(name: string, data: Payload): Promise<unknown>;
  addBulk(jobs: { name: string; data: Payload }[]): Promise<unknown>;
  waitUntilReady(): Promise<unknown>;
  close(): Promise<void>;
}

interface WorkerLike {
  waitUntilReady(): Promise<unknown>;
  close(force?: boolean): Promise<void>;
  on(event: 'error', fn: (err: Error) => void): unknown;
}

export class BullMqAdapter implements SystemAdapter {
  readonly id: string;

  constructor(readonly backend: BullBackend) {
    this.id = backend === 'redis' ? 'bullmq-redis' : 'bullmq-pg';
  }

  describe(concurrency: number): Record<string, unknown> {
    return this.backend === 'redis'
      ? { concurrency, connection: `redis db ${REDIS.db}`, removeOnComplete: 'default (kept)', bulk: 'Queue.addBulk' }
      : { concurrency, poolMax: concurrency + 2, schema, removeOnComplete: 'default (kept)', bulk: 'Queue.addBulk', api: 'withBackend(createPostgresBackend)' };
  }

  async reset(): Promise<void> {
    if (this.backend === 'redis') {
      const r = new Redis({ host: REDIS.host, port: REDIS.port, db: REDIS.db });
      try {
        await r.flushdb();
      } finally {
        r.disconnect();
      }
      return;
    }
    await recreatePgSchema(schema);
    const q = this.queue();
    await q.waitUntilReady();
    await q.close();
  }

  async cleanup(): Promise<void> {
    if (this.backend === 'redis') {
      const r = new Redis({ host: REDIS.host, port: REDIS.port, db: REDIS.db });
      try {
        await r.flushdb();
      } finally {
        r.disconnect();
      }
    } else {
      await dropPgSchema(schema);
    }
  }

  private queue(): QueueLike {
    return this.backend === 'redis'
      ? new Queue<Payload>(QUEUE, { connection: redisConnection })
      : new pgClasses.Queue<Payload>(QUEUE, { connection: pgConnection(10) });
  }

  async producer(): Promise<Producer> {
    const q = this.queue();
    await q.waitUntilReady();
    return {
      enqueue: async (payload) => {
        await q.add(JOB_NAME, payload);
      },
      enqueueBulk: async (payloads) => {
        await q.addBulk(payloads.map((data) => ({ name: JOB_NAME, data })));
      },
      close: () => q.close(),
    };
  }

  async worker(options: WorkerOptions): Promise<WorkerHandle> {
    const handler = options.handler;
    const processor = async (job: Job<Payload>) => {
      handler(job.data);
    };
    let worker: WorkerLike | null = null;
    return {
      start: async () => {
        worker =
          this.backend === 'redis'
            ? new Worker<Payload>(QUEUE, processor, { connection: redisConnection, concurrency: options.concurrency })
            : new pgClasses.Worker<Payload>(QUEUE, processor, { connection: pgConnection(options.concurrency + 2), concurrency: options.concurrency });
        worker.on('error', (err) => process.stderr.write(`[${this.id}] ${err.message}\n`));
      },
      stop: async () => {
        await worker?.close();
      },
    };
  }

  get seedBacklog(): ((count: number) => Promise<void>) | undefined {
    if (this.backend !== 'postgres') return undefined;
    return async (count: number) => {
      await withPg(async (c) => {
        await c.query(`SET search_path TO "${schema}"`);
        await c.query(
          `INSERT INTO job (queue, id, seq, name, state, data, opts, max_attempts, added_at_ms)
           SELECT $1, 'b' || g, nextval('job_seq'), $2, 'waiting', jsonb_build_object('i', g), '{"attempts":0}'::jsonb, 0,
                  (extract(epoch FROM now()) * 1000)::bigint
           FROM generate_series(1, $3::int) g`,
          [QUEUE, JOB_NAME, count],
        );
        await c.query(`ANALYZE job`);
      });
    };
  }
}
