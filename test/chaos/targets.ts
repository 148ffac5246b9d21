import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { ServerStorageConfig, SqliteStorageConfig } from '../../lib/index.js';
import { TypeOrmStorage } from '../../lib/storage/typeorm/typeorm.storage.js';
import { freshSqliteFile, uniqueName } from '../support/databases.js';

/**
 * Where one scenario's jobs live: a PostgreSQL schema of its own (on the shared server or on
 * the suite's own cluster) or an SQLite file; the suite's own storage on it (to enqueue and
 * inspect), the workers' storage config, and the effects table of the transactional jobs.
 */
export interface ChaosTarget {
  kind: 'postgres' | 'sqlite';
  /** What the workers use. PostgreSQL: their own application_name, so only their sessions are cut. */
  workerStorage: ServerStorageConfig | SqliteStorageConfig;
  /** The suite's storage (another application_name). */
  storage: TypeOrmStorage;
  jobsTable: string;
  effectTable: string;
  placeholders: 'pg' | 'sqlite';
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  cleanup(): Promise<void>;
}

export async function postgresTarget(url: string): Promise<ChaosTarget> {
  const schema = uniqueName('chaos');
  const tag = randomBytes(4).toString('hex');
  const workerStorage: ServerStorageConfig = { type: 'postgres', url, schema, poolSize: 3, applicationName: `nbj-chaos-w-${tag}` };
  const storage = await TypeOrmStorage.fromConfig({ ...workerStorage, applicationName: `nbj-chaos-suite-${tag}`, poolSize: 4, listen: false });
  const target: ChaosTarget = {
    kind: 'postgres',
    workerStorage,
    storage,
    jobsTable: `"${schema}".jobs_job`,
    effectTable: `"${schema}".chaos_effect`,
    placeholders: 'pg',
    query: (text, params) => storage.dataSource.query(text, params),
    cleanup: async () => {
      await storage.close();
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
  try {
    await storage.init();
    await target.query(`CREATE TABLE ${target.effectTable} (job_id bigint NOT NULL, seq int NOT NULL, pid int NOT NULL, attempt int NOT NULL)`);
  } catch (err) {
    await target.cleanup().catch(() => undefined);
    throw err;
  }
  return target;
}

export async function sqliteTarget(): Promise<ChaosTarget> {
  const { file, remove } = freshSqliteFile();
  const workerStorage: SqliteStorageConfig = { type: 'sqlite', database: file, busyTimeoutMs: 10_000 };
  const storage = await TypeOrmStorage.fromConfig(workerStorage);
  const target: ChaosTarget = {
    kind: 'sqlite',
    workerStorage,
    storage,
    jobsTable: 'jobs_job',
    effectTable: 'chaos_effect',
    placeholders: 'sqlite',
    query: (text, params) => storage.dataSource.query(text, params),
    cleanup: async () => {
      await storage.close();
      await remove();
    },
  };
  await storage.init();
  await target.query(`CREATE TABLE ${target.effectTable} (job_id INTEGER NOT NULL, seq INTEGER NOT NULL, pid INTEGER NOT NULL, attempt INTEGER NOT NULL)`);
  return target;
}
