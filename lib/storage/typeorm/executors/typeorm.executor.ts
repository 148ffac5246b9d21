import type { DataSource, QueryRunner } from 'typeorm';
import { driveAsync, type Row, type Sql, type SqlResult, type Step } from '../flow.js';
import type { Executor, ManagerLike, QueryRunnerLike } from './executor.js';
import { pgPoolOf, queryPrepared, runOnPool, type PgClientLike } from './pg-pool.js';

/**
 * A step that lost a lock conflict is run again, this many times: deadlocks (MariaDB / MySQL
 * 1213, PostgreSQL 40P01: the database chose a victim) and MariaDB / MySQL lock wait timeouts
 * (1205: by default they undo only the statement; the step's transaction is rolled back whole).
 */
const LOCK_CONFLICT_RETRIES = 3;

/**
 * PostgreSQL and MariaDB: each step takes one pooled connection (a TypeORM QueryRunner) for
 * its statements, in a transaction when its mode asks for one. On PostgreSQL a step without
 * a transaction takes a client straight from TypeORM's pool instead (see `runOnPool`).
 */
export class TypeOrmExecutor implements Executor {
  constructor(private readonly dataSource: DataSource) {}

  async run<T>(step: Step<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.runOnce(step);
      } catch (err) {
        // The step's statement or transaction is undone whole (see `inTransaction`): run it again.
        if (attempt >= LOCK_CONFLICT_RETRIES || !isLockConflict(err)) throw err;
      }
    }
  }

  async runOn<T>(manager: ManagerLike, step: Step<T>): Promise<T> {
    const qr = manager.queryRunner;
    // A manager without a QueryRunner is not in a transaction: the pool does the same.
    if (!qr) return this.run(step);
    return driveAsync(step.make(), (q) => exec(qr, q));
  }

  async transaction<T>(work: (manager: ManagerLike, run: <U>(step: Step<U>) => Promise<U>) => Promise<T>): Promise<T> {
    const qr = this.dataSource.createQueryRunner('master');
    try {
      await qr.connect();
      return await inTransaction(qr, undefined, () => work(qr.manager, (s) => driveAsync(s.make(), (q) => exec(qr, q))));
    } finally {
      await qr.release();
    }
  }

  private async runOnce<T>(step: Step<T>): Promise<T> {
    if (step.mode === 'read' || step.mode === 'write') {
      const pool = pgPoolOf(this.dataSource);
      if (pool) return runOnPool(pool, step);
    }
    const qr: QueryRunner = this.dataSource.createQueryRunner('master');
    try {
      const drive = () => driveAsync(step.make(), (q) => exec(qr, q));
      if (step.mode === 'read' || step.mode === 'write') return await drive();
      return await inTransaction(qr, step.mode === 'tx-read-committed' ? 'READ COMMITTED' : undefined, drive);
    } finally {
      await qr.release();
    }
  }
}

/** Runs `work` in a transaction on `qr`: commits when it resolves, rolls back when it throws. */
async function inTransaction<T>(qr: QueryRunner, isolation: 'READ COMMITTED' | undefined, work: () => Promise<T>): Promise<T> {
  await qr.startTransaction(isolation);
  try {
    const value = await work();
    await qr.commitTransaction();
    return value;
  } catch (err) {
    if (qr.isTransactionActive) await qr.rollbackTransaction().catch(() => undefined);
    throw err;
  }
}

/**
 * PostgreSQL: runs `q` as a named (prepared) statement on the QueryRunner's own `pg` client
 * (see `queryPrepared`). Any other driver: null.
 */
async function execPrepared(qr: QueryRunnerLike, q: Sql): Promise<SqlResult | null> {
  const pgRunner = qr as QueryRunnerLike & { connect?: () => Promise<unknown>; connection?: { options?: { type?: unknown } } };
  if (pgRunner.connection?.options?.type !== 'postgres' || typeof pgRunner.connect !== 'function') return null;
  return queryPrepared((await pgRunner.connect()) as PgClientLike, q);
}

export async function exec(qr: QueryRunnerLike, q: Sql): Promise<SqlResult> {
  const prepared = await execPrepared(qr, q);
  if (prepared) return prepared;
  const res = await qr.query(q.text, q.params, true);
  const rows = (Array.isArray(res.records) ? res.records : []) as Row[];
  return { rows, affected: typeof res.affected === 'number' ? res.affected : rows.length };
}

export function isLockConflict(err: unknown): boolean {
  const driverError = (err as { driverError?: { code?: unknown; errno?: unknown } } | null)?.driverError ?? err;
  const { code, errno } = (driverError ?? {}) as { code?: unknown; errno?: unknown };
  return errno === 1213 || code === 'ER_LOCK_DEADLOCK' || errno === 1205 || code === 'ER_LOCK_WAIT_TIMEOUT' || code === '40P01';
}
