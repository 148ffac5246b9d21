import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock } from '../../lib/core/clock.js';
import type { EngineLogger } from '../../lib/core/engine-options.js';
import { JobsRuntime } from '../../lib/core/jobs-runtime.js';
import type { Storage } from '../../lib/core/storage.js';
import type { JobsModuleOptions } from '../../lib/nest/interfaces/jobs-module-options.interface.js';
import type { StorageConfig } from '../../lib/storage/storage-options.js';
import { resolveSettings } from '../../lib/core/settings.js';
import { createStorage } from '../../lib/storage/create-storage.js';
import { JobsTracingMiddleware } from '../../lib/otel/jobs-tracing.middleware.js';
import { JOB_NAME, MARIADB, PG, QUEUE, SCHEMAS, TMP_DIR } from '../config.js';
import { dropMariaDb, dropPgSchema, recreateMariaDb, recreatePgSchema, withPg } from '../db.js';
import type { Payload, Producer, SystemAdapter, WorkerHandle, WorkerOptions } from './types.js';

export type OursBackend = 'memory' | 'postgres' | 'sqlite' | 'mariadb';

/** Jobs claimed ahead of free slots: the documented setting for many short jobs. */
export const OURS_PREFETCH = 500;

const SQLITE_FILE = join(TMP_DIR, 'ours.sqlite');

const logger: EngineLogger = {
  log: () => undefined,
  warn: (m) => process.stderr.write(`[ours warn] ${m}\n`),
  error: (m) => process.stderr.write(`[ours error] ${m}\n`),
};

/**
 * BENCH_TELEMETRY=1: the runtime carries the tracing middleware of `nestjs-background-jobs/otel`
 * (the OpenTelemetry API with no SDK registered, as in an app that loads the module and exports
 * nothing): an A/B of what the middleware seam and the no-op spans cost. `process`: the
 * process hook only, to tell the two sides' costs apart; `pass`: a process hook that only
 * calls `next()`.
 */
function withTelemetry(runtime: JobsRuntime): void {
  if (process.env.BENCH_TELEMETRY === '1') runtime.middleware.add([new JobsTracingMiddleware({})]);
  // BENCH_TELEMETRY=process: its process hook only (the enqueue side runs no middleware).
  if (process.env.BENCH_TELEMETRY === 'process') {
    const tracing = new JobsTracingMiddleware({});
    runtime.middleware.add([{ name: 'process-only', process: tracing.process.bind(tracing) }]);
  }
  // BENCH_TELEMETRY=pass: a process hook that only calls next() (the seam's own cost).
  if (process.env.BENCH_TELEMETRY === 'pass') runtime.middleware.add([{ name: 'pass', process: (_job, _ctx, next) => next() }]);
}

function storageConfig(backend: OursBackend): StorageConfig {
  switch (backend) {
    case 'memory':
      return { type: 'memory' };
    case 'postgres':
      return { type: 'postgres', host: PG.host, port: PG.port, username: PG.user, database: PG.database, schema: SCHEMAS.ours, poolSize: 10 };
    case 'sqlite':
      return { type: 'sqlite', database: SQLITE_FILE };
    case 'mariadb':
      return { type: 'mariadb', host: MARIADB.host, port: MARIADB.port, username: MARIADB.user, password: MARIADB.password, database: MARIADB.database, poolSize: 10 };
  }
}

/**
 * `tuned`: the documented settings for many short jobs (prefetch 500, a short poll where there
 * is no NOTIFY). Otherwise the defaults: only the concurrency the workload asks for, as a user
 * who writes `JobsModule.forRoot({ storage })` gets (the buffer sizes itself).
 */
function moduleOptions(backend: OursBackend, concurrency: number, workers: boolean, tuned: boolean, pollIntervalMs?: number): JobsModuleOptions {
  const queue = tuned ? { concurrency, prefetch: OURS_PREFETCH } : { concurrency };
  return {
    workers,
    queues: workers ? { [QUEUE]: queue } : {},
    logger,
    // PostgreSQL wakes workers by LISTEN/NOTIFY; the other databases poll (local enqueues wake at once).
    ...(pollIntervalMs !== undefined ? { pollIntervalMs } : tuned ? { pollIntervalMs: backend === 'postgres' ? 1000 : 100 } : {}),
    // On by default; BENCH_LOCAL_HANDOFF=0 measures the same runtime without it (an A/B of the hand-off).
    localHandoff: process.env.BENCH_LOCAL_HANDOFF !== '0',
  };
}

/**
 * The worker's storage with a count and the time of each claim / complete round trip: the
 * evidence for where a processing run spends its time (rows per claim, ms per claim).
 */
function traced(storage: Storage): Storage & { counters: Record<string, number> } {
  const counters: Record<string, number> = {};
  const add = (k: string, v: number) => (counters[k] = (counters[k] ?? 0) + v);
  const wrap = <A extends unknown[], R>(name: string, fn: (...a: A) => Promise<R>, rows: (r: R) => number) =>
    async (...a: A): Promise<R> => {
      const t0 = performance.now();
      const r = await fn(...a);
      add(`${name}Calls`, 1);
      add(`${name}Rows`, rows(r));
      add(`${name}Ms`, performance.now() - t0);
      return r;
    };
  const overrides: Record<string, unknown> = {
    counters,
    claim: wrap('claim', storage.claim.bind(storage), (r) => r.length),
    complete: wrap('complete', storage.complete.bind(storage), (r) => r.length),
  };
  // Everything else goes to the storage itself, bound to it (it may hold private fields).
  return new Proxy(storage, {
    get(target, key, receiver) {
      if (typeof key === 'string' && key in overrides) return overrides[key];
      const v = Reflect.get(target, key, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as Storage & { counters: Record<string, number> };
}

export class OursAdapter implements SystemAdapter {
  readonly id: string;
  readonly inProcess: boolean;
  /** Memory storage: producer and worker must share one instance. */
  private shared: Storage | null = null;

  /** `tuned`: the documented settings for short jobs (`ours-pg`); otherwise the defaults (`ours-pg-defaults`). */
  constructor(readonly backend: OursBackend, private readonly tuned = true) {
    this.id = `ours-${backend === 'postgres' ? 'pg' : backend}${tuned ? '' : '-defaults'}`;
    this.inProcess = backend === 'memory';
  }

  describe(concurrency: number): Record<string, unknown> {
    const o = moduleOptions(this.backend, concurrency, true, this.tuned);
    const prefetch = this.tuned ? OURS_PREFETCH : 'adaptive (default)';
    return { storage: this.backend, concurrency, prefetch, ackBatchSize: 500, pollIntervalMs: o.pollIntervalMs ?? 'default', poolSize: 10, localHandoff: o.localHandoff };
  }

  async reset(): Promise<void> {
    switch (this.backend) {
      case 'memory':
        this.shared = null;
        return;
      case 'postgres':
        await recreatePgSchema(SCHEMAS.ours);
        break;
      case 'sqlite':
        mkdirSync(TMP_DIR, { recursive: true });
        for (const suffix of ['', '-wal', '-shm']) rmSync(SQLITE_FILE + suffix, { force: true });
        break;
      case 'mariadb':
        await recreateMariaDb();
        break;
    }
    // Install the schema now, so no workload times the migrations.
    const storage = await this.openStorage();
    await storage.close();
  }

  async cleanup(): Promise<void> {
    if (this.backend === 'postgres') await dropPgSchema(SCHEMAS.ours);
    if (this.backend === 'mariadb') await dropMariaDb();
    if (this.backend === 'sqlite') for (const suffix of ['', '-wal', '-shm']) rmSync(SQLITE_FILE + suffix, { force: true });
  }

  private async openStorage(): Promise<Storage> {
    if (this.backend === 'memory' && this.shared) return this.shared;
    const storage = await createStorage(storageConfig(this.backend), systemClock, () => undefined);
    await storage.init();
    if (this.backend === 'memory') this.shared = storage;
    return storage;
  }

  async producer(): Promise<Producer> {
    const storage = await this.openStorage();
    const runtime = new JobsRuntime(storage, resolveSettings(moduleOptions(this.backend, 1, false, this.tuned)), logger, systemClock);
    withTelemetry(runtime);
    return this.producerOf(runtime, this.backend !== 'memory');
  }

  private producerOf(runtime: JobsRuntime, closes: boolean): Producer {
    return {
      enqueue: async (payload) => {
        await runtime.client.enqueue(JOB_NAME, payload, { queue: QUEUE });
      },
      enqueueBulk: async (payloads) => {
        await runtime.client.enqueueMany(payloads.map((payload) => ({ name: JOB_NAME, payload, options: { queue: QUEUE } })));
      },
      close: async () => {
        if (closes) await runtime.close();
      },
    };
  }

  async worker(options: WorkerOptions): Promise<WorkerHandle & { localProducer: Producer }> {
    const storage = traced(await this.openStorage());
    const runtime = new JobsRuntime(storage, resolveSettings(moduleOptions(this.backend, options.concurrency, true, this.tuned, options.pollIntervalMs)), logger, systemClock);
    withTelemetry(runtime);
    const handler = options.handler;
    runtime.registry.register({
      name: JOB_NAME,
      queue: QUEUE,
      owner: 'Bench.noop',
      handler: async (payload: unknown) => {
        handler(payload as Payload);
      },
    });
    return {
      start: async () => runtime.start(),
      stop: async () => {
        await runtime.stop();
        if (this.backend !== 'memory') await runtime.close();
      },
      localProducer: this.producerOf(runtime, false),
      trace: () => storage.counters,
    };
  }

  /** PostgreSQL: waiting rows straight into the jobs table (`jobs_job`, as the migrations make it). */
  get seedBacklog(): ((count: number) => Promise<void>) | undefined {
    if (this.backend !== 'postgres') return undefined;
    return async (count: number) => {
      await withPg(async (c) => {
        await c.query(
          `INSERT INTO "${SCHEMAS.ours}".jobs_job (queue, name, payload, state, priority, max_attempts, run_at, created_at)
           SELECT $1, $2, json_build_object('i', g), 'available', 0, 6,
                  date_trunc('milliseconds', now()) - interval '1 second', date_trunc('milliseconds', now())
           FROM generate_series(1, $3::int) g`,
          [QUEUE, JOB_NAME, count],
        );
        await c.query(`ANALYZE "${SCHEMAS.ours}".jobs_job`);
      });
    };
  }
}
