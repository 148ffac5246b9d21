import type BetterSqlite3 from 'better-sqlite3';
import type { DataSource } from 'typeorm';
import { forcedMysqlPath, mysqlPathFor, type MysqlPath } from '../dialects/mysql-path.js';
import { asNumber, asString } from '../job-row.js';
import type { DialectKind } from '../table-names.js';
import { assertServerVersion, versionQuery } from '../typeorm-options.js';
import { AvailabilityExecutor } from './availability.executor.js';
import type { Executor } from './executor.js';
import { SqliteExecutor } from './sqlite.executor.js';
import { TypeOrmExecutor } from './typeorm.executor.js';

export interface StartedExecutor {
  executor: Executor;
  /** MariaDB / MySQL: the statement path for this server (see `mysql-path.ts`); null elsewhere. */
  mysqlPath: MysqlPath | null;
}

/**
 * Checks the server version (on MariaDB / MySQL it also picks the statement path), then picks
 * the executor for an initialized DataSource, behind the one place that turns availability
 * errors into `StorageUnavailableError`.
 */
export async function startExecutor(ds: DataSource, kind: DialectKind, busyTimeoutMs: number): Promise<StartedExecutor> {
  const rows = (await ds.query(versionQuery(kind))) as Array<{ v: unknown; inc?: unknown }>;
  const version = asString(rows[0]?.v ?? '');
  if (kind === 'mysql') {
    const mysqlPath = mysqlPathFor({ version, autoIncrementIncrement: asNumber(rows[0]?.inc ?? 0) }, forcedMysqlPath(process.env));
    return { executor: new AvailabilityExecutor(new TypeOrmExecutor(ds), kind), mysqlPath };
  }
  assertServerVersion(kind, version);
  if (kind === 'postgres') return { executor: new AvailabilityExecutor(new TypeOrmExecutor(ds), kind), mysqlPath: null };
  // TypeORM's better-sqlite3 driver keeps its one connection here.
  const db = (ds.driver as unknown as { databaseConnection?: BetterSqlite3.Database }).databaseConnection;
  if (!db) throw new Error('the better-sqlite3 DataSource has no open connection');
  return { executor: new AvailabilityExecutor(new SqliteExecutor(ds, db, busyTimeoutMs), kind), mysqlPath: null };
}
