import type { INestApplication, Provider } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import { JobsModule, MemoryStorage, type JobsModuleOptions, type StorageConfig } from '../../lib/index.js';
import { MYSQL_PATH_ENV } from '../../lib/storage/typeorm/dialects/mysql-path.js';
import { availableKinds } from './available-kinds.js';
import { freshMysqlDatabase, freshPostgresSchema, freshSqliteFile, PG_URL } from './databases.js';
import type { DbKind } from './typeorm-harness.js';

/** `mariadb-mysql8`: MariaDB with the MySQL 8 statements forced (see `dialects/mysql-path.ts`). */
export type FeatureKind = 'memory' | DbKind | 'mariadb-mysql8';

/**
 * One database (or one shared memory storage) that several app instances use, as in a
 * deployment: each database-backed instance gets its own storage object and connection
 * pool on it, so claims, schedules and cancels race across pools for real.
 */
export interface FeatureTarget {
  kind: FeatureKind;
  /** The storage option of one more app instance on this database. */
  storage(): StorageConfig;
  /** An initialised TypeORM DataSource on this database (made on first call), e.g. for `storage: { dataSource }`. */
  dataSource(): Promise<DataSource>;
  cleanup(): Promise<void>;
}

/**
 * Memory always; SQLite always; PostgreSQL and MariaDB when reachable (under CI=true they
 * must be), MariaDB twice: as itself and on the MySQL 8 path.
 */
export async function featureKinds(): Promise<FeatureKind[]> {
  const kinds: FeatureKind[] = ['memory', ...(await availableKinds())];
  return kinds.includes('mariadb') ? [...kinds, 'mariadb-mysql8'] : kinds;
}

export async function openTarget(kind: FeatureKind): Promise<FeatureTarget> {
  const sources: DataSource[] = [];
  const dataSourceOf = (make: () => DataSource) => async () => {
    const ds = make();
    await ds.initialize();
    sources.push(ds);
    return ds;
  };
  const destroySources = () => Promise.all(sources.splice(0).map((ds) => (ds.isInitialized ? ds.destroy() : undefined)));
  switch (kind) {
    case 'memory': {
      const storage = new MemoryStorage();
      return {
        kind,
        storage: () => ({ instance: storage }),
        dataSource: () => Promise.reject(new Error('the memory storage has no DataSource')),
        cleanup: async () => undefined,
      };
    }
    case 'sqlite': {
      const { file, remove } = freshSqliteFile();
      return {
        kind,
        storage: () => ({ type: 'sqlite', database: file }),
        dataSource: dataSourceOf(() => new DataSource({ type: 'better-sqlite3', database: file, enableWAL: true })),
        cleanup: async () => {
          await destroySources();
          await remove();
        },
      };
    }
    case 'postgres': {
      const { schema, drop } = await freshPostgresSchema();
      return {
        kind,
        storage: () => ({ type: 'postgres', url: PG_URL, schema, poolSize: 4 }),
        dataSource: dataSourceOf(() => new DataSource({ type: 'postgres', url: PG_URL, schema, poolSize: 4 })),
        cleanup: async () => {
          await destroySources();
          await drop();
        },
      };
    }
    case 'mariadb':
    case 'mariadb-mysql8': {
      const { url, drop } = await freshMysqlDatabase();
      // Read by each storage's init(): targets are opened and cleaned up one at a time.
      if (kind === 'mariadb-mysql8') process.env[MYSQL_PATH_ENV] = 'no-returning';
      return {
        kind,
        storage: () => ({ type: 'mariadb', url, poolSize: 4 }),
        dataSource: dataSourceOf(() => new DataSource({ type: 'mariadb', url, poolSize: 4, supportBigNumbers: true, bigNumberStrings: true })),
        cleanup: async () => {
          await destroySources();
          await drop();
          if (kind === 'mariadb-mysql8') delete process.env[MYSQL_PATH_ENV];
        },
      };
    }
  }
}

/** Short real intervals: database clocks cannot be faked. */
export const FAST: JobsModuleOptions = {
  pollIntervalMs: 20,
  leaseMs: 600,
  heartbeatIntervalMs: 50,
  rescueIntervalMs: 100,
  shutdownTimeoutMs: 500,
  abortGraceMs: 200,
  logger: false,
};

/** Starts one app instance on `target` with `providers` as its processors. */
export async function startInstance(
  target: FeatureTarget,
  providers: Provider[],
  options: JobsModuleOptions = {},
): Promise<INestApplication> {
  const mod = await Test.createTestingModule({
    imports: [JobsModule.forRoot({ storage: target.storage(), ...FAST, ...options })],
    providers,
  }).compile();
  const app = mod.createNestApplication({ logger: false });
  await app.init();
  return app;
}

/** Polls `check` (10 ms growing to 100 ms) until it holds; fails after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 10; ; wait = Math.min(100, wait * 2)) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, wait));
  }
}
