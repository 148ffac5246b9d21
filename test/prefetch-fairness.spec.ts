import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../lib/core/clock.js';
import type { EngineLogger } from '../lib/core/engine-options.js';
import { JobsRuntime } from '../lib/core/jobs-runtime.js';
import { resolveSettings } from '../lib/core/settings.js';
import type { ServerStorageConfig, SqliteStorageConfig } from '../lib/storage/storage-options.js';
import { TypeOrmStorage } from '../lib/storage/typeorm/typeorm.storage.js';
import { availableKinds } from './support/available-kinds.js';
import { freshMysqlDatabase, freshPostgresSchema, freshSqliteFile, PG_URL, sleep } from './support/databases.js';
import type { DbKind } from './support/typeorm-harness.js';

const JOBS = 40;
const JOB_MS = 500;
const CONCURRENCY = 2;
const INSTANCES = 2;
/** 40 jobs × 500 ms over 4 slots. */
const IDEAL_MS = (JOBS * JOB_MS) / (CONCURRENCY * INSTANCES);

const quiet: EngineLogger = { log: () => undefined, warn: (m) => console.warn(m), error: (m) => console.error(m) };

async function place(kind: DbKind): Promise<{ config: SqliteStorageConfig | ServerStorageConfig; drop(): Promise<void> }> {
  if (kind === 'postgres') {
    const { schema, drop } = await freshPostgresSchema();
    return { config: { type: 'postgres', url: PG_URL, schema, poolSize: 4 }, drop };
  }
  if (kind === 'mariadb') {
    const { url, drop } = await freshMysqlDatabase();
    return { config: { type: 'mariadb', url, poolSize: 4 }, drop };
  }
  const { file, remove } = freshSqliteFile();
  return { config: { type: 'sqlite', database: file }, drop: remove };
}

const kinds = await availableKinds();

describe.each(kinds)('default prefetch across two instances on %s', (kind) => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it(`shares ${JOBS} jobs of ${JOB_MS} ms between both instances, within 20% of the ideal time`, async () => {
    const { config, drop } = await place(kind);
    cleanups.push(drop);
    /** Which instance started each job, and when each handler started and ended (real time). */
    const starts: Array<{ instance: number; at: number }> = [];
    let lastEnd = 0;
    const runtimes: JobsRuntime[] = [];
    for (let instance = 0; instance < INSTANCES; instance++) {
      const storage = await TypeOrmStorage.fromConfig(config);
      await storage.init();
      // No prefetch option: the runner sizes its buffer itself.
      const runtime = new JobsRuntime(storage, resolveSettings({ queues: { work: { concurrency: CONCURRENCY } }, pollIntervalMs: 200 }), quiet, systemClock);
      runtime.registry.register({
        name: 'half-second',
        queue: 'work',
        owner: `Instance${instance}.halfSecond`,
        handler: async () => {
          starts.push({ instance, at: performance.now() });
          await sleep(JOB_MS);
          lastEnd = performance.now();
        },
      });
      runtimes.push(runtime);
      cleanups.push(async () => {
        await runtime.stop();
        await runtime.close();
      });
    }
    await runtimes[0]!.client.enqueueMany(Array.from({ length: JOBS }, (_, i) => ({ name: 'half-second', payload: { i }, options: { queue: 'work' } })));
    await Promise.all(runtimes.map((r) => r.start()));
    const deadline = Date.now() + 4 * IDEAL_MS;
    while ((starts.length < JOBS || lastEnd < starts.at(-1)!.at + JOB_MS - 1) && Date.now() < deadline) await sleep(50);

    const perInstance = runtimes.map((_, i) => starts.filter((s) => s.instance === i).length);
    const totalMs = lastEnd - Math.min(...starts.map((s) => s.at));
    const report = `jobs per instance: ${perInstance.join(' / ')}; ${Math.round(totalMs)} ms (ideal ${IDEAL_MS} ms)`;
    expect(starts.length, report).toBe(JOBS);
    for (const n of perInstance) expect(n, report).toBeGreaterThan(0);
    expect(totalMs, report).toBeLessThanOrEqual(IDEAL_MS * 1.2);
  }, 60_000);
});
