import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewJob } from '../../lib/core/job-record.js';
import { TypeOrmStorage } from '../../lib/storage/typeorm/typeorm.storage.js';
import { databaseAvailable, freshMysqlDatabase, freshPostgresSchema, PG_URL } from '../support/databases.js';

const job = (): NewJob => ({ queue: 'r', name: 'job', payload: '{}', priority: 0, maxAttempts: 3 });

/**
 * A rate limit's start log is dated with the database's clock once the claim holds the lock of
 * the queue's limits, not when its statement began: a claim that waited for another's lock
 * records its starts when they happen, so the next window opens after them.
 */
for (const kind of ['postgres', 'mariadb'] as const) {
  if (!(await databaseAvailable(kind))) continue;
  describe(`a rate-limited claim that waits for the lock (${kind})`, () => {
    let storage: TypeOrmStorage;
    let drop: () => Promise<void>;
    beforeAll(async () => {
      if (kind === 'postgres') {
        const place = await freshPostgresSchema();
        drop = place.drop;
        storage = await TypeOrmStorage.fromConfig({ type: 'postgres', url: PG_URL, schema: place.schema, poolSize: 3 });
      } else {
        const place = await freshMysqlDatabase();
        drop = place.drop;
        storage = await TypeOrmStorage.fromConfig({ type: 'mariadb', url: place.url, poolSize: 3 });
      }
      await storage.init();
    });
    afterAll(async () => {
      await storage?.close();
      await drop?.();
    });

    it('dates its starts after the wait', async () => {
      await storage.setLimits('r', { rateLimit: { limit: 10, intervalMs: 60_000 } });
      await storage.enqueue([job(), job()]);
      const t = storage.dialect.tables.limits;
      const holder = storage.dataSource.createQueryRunner();
      await holder.connect();
      await holder.startTransaction();
      try {
        await holder.query(`SELECT queue FROM ${t} WHERE queue = ${kind === 'postgres' ? '$1' : '?'} FOR UPDATE`, ['r']);
        const claim = storage.claim('r', 'w1', 1, 30_000);
        await new Promise((r) => setTimeout(r, 400));
        const released = await storage.now();
        await holder.commitTransaction();
        expect(await claim).toHaveLength(1);
        const [row] = (await storage.dataSource.query(`SELECT starts FROM ${t} WHERE queue = ${kind === 'postgres' ? '$1' : '?'}`, ['r'])) as Array<{ starts: string }>;
        const at = (JSON.parse(row!.starts) as Array<[number, number]>)[0]![0];
        // Dated after the lock was let go (less the clock's rounding), not 400 ms before.
        expect(at).toBeGreaterThanOrEqual(released - 5);
      } finally {
        await holder.release();
      }
    });
  });
}
