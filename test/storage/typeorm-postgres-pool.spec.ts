import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TypeOrmStorage } from '../../lib/storage/typeorm/typeorm.storage.js';
import { newJob } from '../storage-contract/contract-harness.js';
import { databaseAvailable, freshPostgresSchema, PG_URL, withPg } from '../support/databases.js';

/** The node-pg Pool TypeORM keeps for a PostgreSQL DataSource (no public accessor). */
interface PoolView {
  totalCount: number;
  idleCount: number;
}

/**
 * PostgreSQL statements outside a transaction run on a client taken straight from TypeORM's
 * pool: with a pool of one connection, any client not given back would hang the next call.
 */
if (await databaseAvailable('postgres')) {
  describe('TypeORM storage on PostgreSQL: pooled clients', () => {
    let storage: TypeOrmStorage;
    let drop: () => Promise<void>;
    const pool = () => (storage.dataSource.driver as unknown as { master: PoolView }).master;

    beforeEach(async () => {
      const fresh = await freshPostgresSchema();
      drop = fresh.drop;
      storage = await TypeOrmStorage.fromConfig({ type: 'postgres', url: PG_URL, schema: fresh.schema, poolSize: 1 });
      await storage.init();
    });

    afterEach(async () => {
      await storage.close();
      await drop();
    });

    it('gives the client back after a statement fails, and the next call runs', async () => {
      await expect(storage.enqueue([newJob({ payload: 'not json' })])).rejects.toThrow(/json/i);
      expect(pool().idleCount).toBe(pool().totalCount);
      const [r] = await storage.enqueue([newJob()]);
      expect(await storage.get(r!.id)).toMatchObject({ state: 'available' });
    });

    it('replaces a pooled connection the server killed', async () => {
      await storage.enqueue([newJob()]);
      const rows = (await storage.dataSource.query('SELECT pg_backend_pid() AS pid')) as Array<{ pid: number }>;
      await withPg((c) => c.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]));
      // The pool drops the dead idle client when it reports the error; a call after that opens a new one.
      await expect.poll(() => pool().totalCount, { timeout: 5000 }).toBe(0);
      const [r] = await storage.enqueue([newJob({ payload: '{"after":true}' })]);
      expect((await storage.get(r!.id))!.payload).toEqual({ after: true });
    });
  });
}
