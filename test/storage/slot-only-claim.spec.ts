import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewJob } from '../../lib/core/job-record.js';
import { TypeOrmStorage } from '../../lib/storage/typeorm/typeorm.storage.js';
import { databaseAvailable, freshPostgresSchema, PG_URL } from '../support/databases.js';

const job = (queue: string): NewJob => ({ queue, name: 'job', payload: '{}', priority: 0, maxAttempts: 3 });

/**
 * A queue whose only limit is a global concurrency is claimed in one statement, without the
 * lock of its limits (`Dialect.claimUnlessLimited`). Two storages on one schema stand for two
 * instances: `a` still trusts its cached list of limits (read less than a second ago) while
 * `b` blocks the queue or gives it a rate limit. `a`'s next claim follows at once.
 */
if (await databaseAvailable('postgres')) {
  describe('claim of a queue limited by a global concurrency alone (postgres)', () => {
    let a: TypeOrmStorage;
    let b: TypeOrmStorage;
    let drop: () => Promise<void>;
    beforeAll(async () => {
      const place = await freshPostgresSchema();
      drop = place.drop;
      const config = { type: 'postgres' as const, url: PG_URL, schema: place.schema, poolSize: 2 };
      a = await TypeOrmStorage.fromConfig(config);
      b = await TypeOrmStorage.fromConfig(config);
      await a.init();
      await b.init();
    });
    afterAll(async () => {
      await a?.close();
      await b?.close();
      await drop?.();
    });

    it('takes the one-statement claim, which honours a block and new limits stored by another instance', async () => {
      expect(a.dialect.claimUnlessLimited).toBeDefined();
      await a.setLimits('blocked', { globalConcurrency: 2 });
      await a.setLimits('rated', { globalConcurrency: 2 });
      await a.enqueue([job('blocked'), job('blocked'), job('blocked'), job('rated'), job('rated'), job('rated')]);
      // One job each: `a` has read the list (both queues: a global concurrency alone), and buffers beyond the limit.
      expect(await a.claim('blocked', 'w1', 1, 30_000)).toHaveLength(1);
      expect(await a.claim('rated', 'w1', 1, 30_000)).toHaveLength(1);
      expect(a.isLimited('blocked')).toBe(true);
      await b.blockQueue('blocked', 60_000);
      await b.setLimits('rated', { globalConcurrency: 2, rateLimit: { limit: 1, intervalMs: 3_600_000 } });
      expect(await a.claim('blocked', 'w1', 5, 30_000)).toEqual([]);
      // The rate limit: one start in the hour, and only jobs that start at once.
      expect(await a.claim('rated', 'w1', 5, 30_000, 0)).toEqual([]);
      expect(await a.claim('rated', 'w1', 5, 30_000)).toHaveLength(1);
      expect(await a.claim('rated', 'w1', 5, 30_000)).toEqual([]);
    });
  });
}
