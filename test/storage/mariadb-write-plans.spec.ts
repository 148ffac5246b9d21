import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driveSync, type Sql, type Step } from '../../lib/storage/typeorm/flow.js';
import { TypeOrmStorage } from '../../lib/storage/typeorm/typeorm.storage.js';
import { newJob } from '../storage-contract/contract-harness.js';
import { databaseAvailable, freshMysqlDatabase } from '../support/databases.js';

/**
 * InnoDB locks every row a locking read or an UPDATE scans, not only the rows it changes.
 * A guarded write (complete, fail) that scanned the running jobs instead of going straight
 * to its ids locked other workers' jobs and deadlocked with them (a transactional handler's
 * completion died of it). Every guarded write must reach the jobs by primary key, on a
 * small table too, where the optimizer likes a scan best.
 */
function statementsOf<T>(s: Step<T>, heldRows: Array<Record<string, unknown>>): Sql[] {
  const seen: Sql[] = [];
  driveSync(s.make(), (q) => {
    seen.push(q);
    return { rows: seen.length === 1 ? heldRows : [], affected: heldRows.length };
  });
  return seen;
}

type PlanRow = { table: string; type: string; key: string | null };

if (await databaseAvailable('mariadb')) {
  describe('guarded write plans: mariadb', () => {
    let storage: TypeOrmStorage;
    let drop: () => Promise<void>;
    let ids: string[] = [];
    beforeAll(async () => {
      const place = await freshMysqlDatabase();
      drop = place.drop;
      storage = await TypeOrmStorage.fromConfig({ type: 'mariadb', url: place.url, poolSize: 2 });
      await storage.init();
      ids = (await storage.enqueue(Array.from({ length: 5 }, () => newJob()))).map((r) => r.id);
      await storage.claim('q', 'w1', 5, 30_000);
      await storage.dataSource.query(`ANALYZE TABLE ${storage.dialect.tables.jobs}`);
    });
    afterAll(async () => {
      await storage.close();
      await drop();
    });

    const explain = async (q: Sql) => (await storage.dataSource.query(`EXPLAIN ${q.text}`, q.params)) as PlanRow[];
    const jobsRow = (plan: PlanRow[]) => plan.find((r) => r.table === 'j' || r.table === 'jobs_job')!;
    const held = () => [3, 4].map((i) => ({ id: ids[i], locked_by: 'w1', queue: 'q', cancel_requested: 0 }));

    it('complete: locks and updates by primary key only', async () => {
      const [lock, update] = statementsOf(storage.dialect.complete([3, 4].map((i) => ({ id: ids[i]!, workerId: 'w1', result: '1' }))), held());
      expect(jobsRow(await explain(lock!))).toMatchObject({ key: 'PRIMARY', type: 'range' });
      expect(jobsRow(await explain(update!))).toMatchObject({ key: 'PRIMARY', type: 'eq_ref' });
    });

    it('fail: locks and updates by primary key only', async () => {
      const items = [3, 4].map((i) => ({ id: ids[i]!, workerId: 'w1', error: '{}', retryDelayMs: 10, cancelled: false }));
      const [lock, update] = statementsOf(storage.dialect.fail(items), held());
      expect(jobsRow(await explain(lock!))).toMatchObject({ key: 'PRIMARY', type: 'range' });
      expect(jobsRow(await explain(update!))).toMatchObject({ key: 'PRIMARY', type: 'eq_ref' });
    });
  });
}
