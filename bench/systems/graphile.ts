import { Logger, makeWorkerUtils, run, runMigrations, type Runner, type WorkerUtils } from 'graphile-worker';
import { JOB_NAME, PG_URL, SCHEMAS } from '../config.js';
import { dropPgSchema, withPg } from '../db.js';
import type { Producer, SystemAdapter, WorkerHandle, WorkerOptions } from './types.js';

const schema = SCHEMAS.graphile;

/** Errors only: graphile-worker logs every start and stop at info level. */
const logger = new Logger(() => (level, message) => {
  if (level === 'error') process.stderr.write(`[graphile-worker] ${message}\n`);
});

/**
 * The settings of graphile-worker's performance page (worker.graphile.org/docs/performance):
 * a local queue of 500, batched completions and failures, a pool of concurrency + 2.
 */
function preset(concurrency: number) {
  return {
    worker: {
      connectionString: PG_URL,
      schema,
      concurrentJobs: concurrency,
      maxPoolSize: Math.max(10, concurrency + 2),
      pollInterval: 1000,
      useNodeTime: true,
      localQueue: { size: 500 },
      completeJobBatchDelay: 0,
      failJobBatchDelay: 0,
      logger,
    },
  };
}

export class GraphileAdapter implements SystemAdapter {
  readonly id = 'graphile-worker';

  describe(concurrency: number): Record<string, unknown> {
    const { logger: _l, connectionString: _c, ...rest } = preset(concurrency).worker;
    return rest;
  }

  async reset(): Promise<void> {
    await dropPgSchema(schema);
    await runMigrations({ connectionString: PG_URL, schema, logger });
  }

  async cleanup(): Promise<void> {
    await dropPgSchema(schema);
  }

  async producer(): Promise<Producer> {
    const utils: WorkerUtils = await makeWorkerUtils({ connectionString: PG_URL, schema, logger });
    return {
      enqueue: async (payload) => {
        await utils.addJob(JOB_NAME, payload);
      },
      enqueueBulk: async (payloads) => {
        await utils.addJobs(payloads.map((payload) => ({ identifier: JOB_NAME, payload })));
      },
      close: async () => {
        await utils.release();
      },
    };
  }

  async worker(options: WorkerOptions): Promise<WorkerHandle> {
    let runner: Runner | null = null;
    const handler = options.handler;
    return {
      start: async () => {
        runner = await run({
          noHandleSignals: true,
          taskList: {
            [JOB_NAME]: async (payload) => {
              handler(payload as { i: number });
            },
          },
          preset: preset(options.concurrency),
        });
      },
      stop: async () => {
        await runner?.stop();
      },
    };
  }

  async seedBacklog(count: number): Promise<void> {
    await withPg(async (c) => {
      await c.query(`SET search_path TO "${schema}"`);
      await c.query(`INSERT INTO _private_tasks (identifier) VALUES ($1) ON CONFLICT DO NOTHING`, [JOB_NAME]);
      await c.query(
        `INSERT INTO _private_jobs (task_id, payload, run_at)
         SELECT (SELECT id FROM _private_tasks WHERE identifier = $1), json_build_object('i', g), now() - interval '1 second'
         FROM generate_series(1, $2::int) g`,
        [JOB_NAME, count],
      );
      await c.query(`ANALYZE _private_jobs`);
    });
  }
}
