import type BetterSqlite3 from 'better-sqlite3';
import type { DataSource } from 'typeorm';
import { asString } from '../job-row.js';
import type { DialectKind } from '../table-names.js';
import { assertServerVersion, versionQuery } from '../typeorm-options.js';
import { AvailabilityExecutor } from './availability.executor.js';
import type { Executor } from './executor.js';
import { SqliteExecutor } from './sqlite.executor.js';
import { TypeOrmExecutor } from './typeorm.executor.js';

/**
 * Checks the server version, then picks the executor for an initialized DataSource, behind
 * the one place that turns availability errors into `StorageUnavailableError`.
 */
export async function startExecutor(ds: DataSource, kind: DialectKind, busyTimeoutMs: number): Promise<Executor> {
  const rows = (await ds.query(versionQuery(kind))) as Array<{ v: unknown }>;
  assertServerVersion(kind, asString(rows[0]?.v ?? ''));
  if (kind !== 'sqlite') return new AvailabilityExecutor(new TypeOrmExecutor(ds), kind);
  // TypeORM's better-sqlite3 driver keeps its one connection here.
  const db = (ds.driver as unknown as { databaseConnection?: BetterSqlite3.Database }).databaseConnection;
  if (!db) throw new Error('the better-sqlite3 DataSource has no open connection');
  return new AvailabilityExecutor(new SqliteExecutor(ds, db, busyTimeoutMs), kind);
}
