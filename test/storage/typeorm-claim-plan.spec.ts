import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sql } from '../../lib/storage/typeorm/flow.js';
import { TypeOrmStorage } from '../../lib/storage/typeorm/typeorm.storage.js';
import { databaseAvailable, freshMysqlDatabase, freshPostgresSchema, freshSqliteStorage, PG_URL } from '../support/databases.js';

/**
 * The claim must stay flat as finished and future jobs pile up: it reads through the claim
 * index, in claim order, without a sort. 50,000 rows: 45,000 completed, 4,000 scheduled an
 * hour ahead, 1,000 due, over five queues. The plans are in lib/storage/typeorm/README.md.
 */
const ROWS = 50_000;

/**
 * The first statement a claim step sends (PostgreSQL/SQLite: the claim; MariaDB: the pick); by
 * default of a worker's usual refill, every job prefetched.
 */
function claimSql(storage: TypeOrmStorage, startNow = 0): Sql {
  const first = storage.dialect.claim('q1', 'w1', 50, 30_000, startNow).make().next();
  if (first.done) throw new Error('the claim sent no statement');
  return first.value;
}

const printPlan = process.env.JOBS_PRINT_PLANS === '1';

if (await databaseAvailable('postgres')) {
  describe('claim plan: postgres', () => {
    let storage: TypeOrmStorage;
    let drop: () => Promise<void>;
    beforeAll(async () => {
      const place = await freshPostgresSchema();
      drop = place.drop;
      storage = await TypeOrmStorage.fromConfig({ type: 'postgres', url: PG_URL, schema: place.schema, poolSize: 2 });
      await storage.init();
      const t = storage.dialect.tables.jobs;
      await storage.dataSource.query(
        `INSERT INTO ${t} (queue, name, payload, state, priority, run_at, created_at, completed_at)
         SELECT 'q' || ((g / 50) % 5), 'job', '{}',
                CASE WHEN g % 50 = 0 THEN 'available' WHEN g % 50 < 5 THEN 'scheduled' ELSE 'completed' END,
                g % 3,
                CASE WHEN g % 50 BETWEEN 1 AND 4 THEN now() + interval '1 hour' ELSE now() - interval '1 minute' END,
                now(), CASE WHEN g % 50 >= 5 THEN now() END
         FROM generate_series(1, ${ROWS}) g`,
      );
      await storage.dataSource.query(`ANALYZE ${t}`);
    });
    afterAll(async () => {
      await storage.close();
      await drop();
    });

    it('uses the partial claim index, in order (no sort), under LockRows', async () => {
      const explain = async (q: Sql) => {
        const rows = (await storage.dataSource.query(`EXPLAIN ${q.text}`, q.params)) as Array<{ 'QUERY PLAN': string }>;
        const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
        if (printPlan) console.log(plan);
        return plan;
      };
      const plan = await explain(claimSql(storage));
      expect(plan).toMatch(/Index Scan using "?jobs_job_claim_idx"? on /);
      expect(plan).toContain('LockRows');
      expect(plan).not.toMatch(/Seq Scan on "?jobs_job"?/);
      expect(plan).not.toMatch(/Sort\b/);
      // A claim of jobs that start at once and prefetched ones numbers the picked rows (at most
      // the limit, in memory); the pick itself is the same.
      const both = await explain(claimSql(storage, 10));
      const pick = both.slice(both.indexOf('CTE picked'), both.indexOf('CTE claimed'));
      expect(pick).toMatch(/LockRows[\s\S]*Index Scan using "?jobs_job_claim_idx"? on /);
      expect(pick).not.toMatch(/Sort\b/);
      expect(both.match(/Sort Key: .*/g)).toEqual(['Sort Key: picked.priority, picked.run_at, picked.id']);
      expect(await storage.claim('q1', 'w1', 50, 30_000)).toHaveLength(50);
    });

    it('commits claims and lease renewals without waiting for the disk, and nothing else', async () => {
      // Inside an explicit transaction, so the setting a statement made is still visible after it.
      const settingAfter = async (q: Sql) => {
        const qr = storage.dataSource.createQueryRunner();
        try {
          await qr.startTransaction();
          await qr.query(q.text, q.params);
          const [row] = (await qr.query('SHOW synchronous_commit')) as Array<{ synchronous_commit: string }>;
          await qr.rollbackTransaction();
          return row!.synchronous_commit;
        } finally {
          await qr.release();
        }
      };
      const first = (s: { make(): Generator<Sql, unknown, unknown> }) => s.make().next().value as Sql;
      const [held] = await storage.claim('q2', 'w1', 1, 30_000);
      const job = { queue: 'q2', name: 'job', payload: '{}', headers: null, priority: 0, maxAttempts: 1, runAt: null, delayMs: 0, uniqueKey: null, uniqueWhile: null, uniqueTtlMs: null, backoff: null, timeoutMs: null, group: null };
      expect(await settingAfter(claimSql(storage))).toBe('off');
      expect(await settingAfter(first(storage.dialect.heartbeat([held!.id], 'w1', 30_000, [held!.id])))).toBe('off');
      expect(await settingAfter(first(storage.dialect.complete([{ id: held!.id, workerId: 'w1', result: null }])))).toBe('on');
      expect(await settingAfter(first(storage.dialect.insert([job])))).toBe('on');
      expect(await settingAfter(first(storage.dialect.insertClaimed!(job, 'w1', 30_000)))).toBe('on');
    });

    it('the asynchronous commit of a claim ends with its statement: the pooled connection commits durably again', async () => {
      const one = await TypeOrmStorage.fromConfig({ type: 'postgres', url: PG_URL, schema: storage.dialect.tables.schema ?? undefined, poolSize: 1 });
      await one.init();
      try {
        await one.enqueue([{ queue: 'q3', name: 'job', payload: '{}', priority: 0, maxAttempts: 1 }]);
        expect(await one.claim('q3', 'w1', 1, 30_000)).toHaveLength(1);
        const [row] = (await one.dataSource.query('SHOW synchronous_commit')) as Array<{ synchronous_commit: string }>;
        expect(row!.synchronous_commit).toBe('on');
      } finally {
        await one.close();
      }
    });
  });
}

if (await databaseAvailable('mariadb')) {
  describe('claim plan: mariadb', () => {
    let storage: TypeOrmStorage;
    let drop: () => Promise<void>;
    beforeAll(async () => {
      const place = await freshMysqlDatabase();
      drop = place.drop;
      storage = await TypeOrmStorage.fromConfig({ type: 'mariadb', url: place.url, poolSize: 2 });
      await storage.init();
      const t = storage.dialect.tables.jobs;
      await storage.dataSource.query(
        `INSERT INTO ${t} (queue, name, payload, state, priority, run_at, created_at, completed_at)
         SELECT CONCAT('q', seq DIV 50 % 5), 'job', '{}',
                CASE WHEN seq % 50 = 0 THEN 'available' WHEN seq % 50 < 5 THEN 'scheduled' ELSE 'completed' END,
                seq % 3,
                CASE WHEN seq % 50 BETWEEN 1 AND 4 THEN UTC_TIMESTAMP(3) + INTERVAL 1 HOUR ELSE UTC_TIMESTAMP(3) - INTERVAL 1 MINUTE END,
                UTC_TIMESTAMP(3), CASE WHEN seq % 50 >= 5 THEN UTC_TIMESTAMP(3) END
         FROM seq_1_to_${ROWS}`,
      );
      await storage.dataSource.query(`ANALYZE TABLE ${t}`);
    });
    afterAll(async () => {
      await storage.close();
      await drop();
    });

    it('picks through (pending_queue, priority, run_at, id) without a filesort', async () => {
      const q = claimSql(storage);
      const rows = (await storage.dataSource.query(`EXPLAIN ${q.text}`, q.params)) as Array<Record<string, unknown>>;
      if (printPlan) console.table(rows);
      const jobs = rows.find((r) => r.key === 'jobs_job_claim_idx');
      expect(jobs).toBeDefined();
      expect(String(jobs!.Extra ?? '')).not.toContain('filesort');
      expect(Number(jobs!.rows)).toBeLessThan(ROWS / 10);
      expect(await storage.claim('q1', 'w1', 50, 30_000)).toHaveLength(50);
    });
  });
}

describe('claim plan: sqlite', () => {
  let storage: TypeOrmStorage;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ storage, cleanup } = await freshSqliteStorage());
    const t = storage.dialect.tables.jobs;
    const now = Date.now();
    await storage.dataSource.query(
      `WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ${ROWS})
       INSERT INTO ${t} (queue, name, payload, state, priority, run_at, created_at, completed_at)
       SELECT 'q' || ((n / 50) % 5), 'job', '{}',
              CASE WHEN n % 50 = 0 THEN 'available' WHEN n % 50 < 5 THEN 'scheduled' ELSE 'completed' END,
              n % 3, CASE WHEN n % 50 BETWEEN 1 AND 4 THEN ${now + 3_600_000} ELSE ${now - 60_000} END,
              ${now}, CASE WHEN n % 50 >= 5 THEN ${now} END
       FROM g`,
    );
    await storage.dataSource.query('ANALYZE');
  });
  afterAll(async () => {
    await cleanup();
  });

  it('searches the partial claim index without a temp b-tree for ORDER BY', async () => {
    const q = claimSql(storage);
    const rows = (await storage.dataSource.query(`EXPLAIN QUERY PLAN ${q.text}`, q.params)) as Array<{ detail: string }>;
    const plan = rows.map((r) => r.detail).join('\n');
    if (printPlan) console.log(plan);
    expect(plan).toMatch(/USING (COVERING )?INDEX jobs_job_claim_idx/);
    expect(plan).not.toContain('USE TEMP B-TREE FOR ORDER BY');
    expect(await storage.claim('q1', 'w1', 50, 30_000)).toHaveLength(50);
  });
});
