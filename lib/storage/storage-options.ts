import type { Clock } from '../core/clock.js';
import { knownKeys } from '../core/known-keys.js';
import type { Storage } from '../core/storage.js';

/** The embedded default: a SQLite file in the working directory. */
export const DEFAULT_SQLITE_FILE = 'jobs.sqlite';

export const unknownStorageType = (type: unknown) =>
  `Unknown storage type ${JSON.stringify(type)}: use 'sqlite' (the default), 'postgres', 'mysql', 'mariadb', 'memory', ` +
  'or { dataSource } / { instance } for your own.';

export interface MemoryStorageConfig {
  type: 'memory';
  clock?: Clock;
}

export interface SqliteStorageConfig {
  type: 'sqlite';
  /** File path; default `jobs.sqlite` in the working directory. `':memory:'` for a throw-away database. */
  database?: string;
  /** ms to wait for another process's write lock; default 5000. */
  busyTimeoutMs?: number;
  /**
   * ms between looks for jobs that another process (a second app instance, a CLI, a cron
   * script) stored in the file, so idle workers here claim them within a few ms instead of at
   * their next poll; default 5. Each look is one `PRAGMA data_version` read (a few µs); this
   * process's own writes never trigger it. `false` or 0: off (workers find such jobs by polling).
   */
  changePollMs?: number | false;
  /** Prefix of the table names (`<prefix>job`, …): 0 to 32 of A-Z a-z 0-9 _; default `jobs_`. */
  tablePrefix?: string;
  /** false: the app runs the migrations itself. */
  migrations?: boolean;
}

export interface ServerStorageConfig {
  type: 'postgres' | 'mysql' | 'mariadb';
  /** PostgreSQL `application_name` of the module's connections (seen in pg_stat_activity); default `nestjs-background-jobs`. */
  applicationName?: string;
  url?: string;
  host?: string;
  port?: number;
  username?: string;
  password?: string;
  database?: string;
  /** PostgreSQL schema of the jobs tables. */
  schema?: string;
  tablePrefix?: string;
  migrations?: boolean;
  /** Connection pool size; default 10. */
  poolSize?: number;
  /**
   * PostgreSQL: keep one extra connection that LISTENs for new jobs, so workers wake at once
   * instead of at their next poll; default true. (Opened only when workers run.)
   */
  listen?: boolean;
  /** PostgreSQL: ms between health probes of the LISTEN connection; default 30 000. */
  listenHealthCheckMs?: number;
}

/** An app's own TypeORM DataSource (e.g. from @nestjs/typeorm): the jobs table lives in its database. */
export interface DataSourceStorageConfig {
  /** A TypeORM `DataSource`. */
  dataSource?: unknown;
  /** Or the injection token of one (e.g. `getDataSourceToken()`), resolved from the app's container. */
  dataSourceToken?: string | symbol | Function;
  tablePrefix?: string;
  migrations?: boolean;
  /** PostgreSQL schema of the jobs tables; default: the DataSource's `schema`, else the search path. */
  schema?: string;
  /** SQLite: ms a write waits while the shared connection is inside an app transaction; default 5000. */
  busyTimeoutMs?: number;
  /** SQLite: ms between looks for jobs stored by other processes (see `SqliteStorageConfig`); default 5; `false` or 0: off. */
  changePollMs?: number | false;
  /** PostgreSQL: LISTEN for new jobs on an extra connection; default true. */
  listen?: boolean;
  /** PostgreSQL: ms between health probes of the LISTEN connection; default 30 000. */
  listenHealthCheckMs?: number;
}

export interface CustomStorageConfig {
  instance: Storage;
}

export type StorageConfig =
  | MemoryStorageConfig
  | SqliteStorageConfig
  | ServerStorageConfig
  | DataSourceStorageConfig
  | CustomStorageConfig;

/** The keys each kind of storage options may have (a misspelt one is refused, not ignored). */
export const STORAGE_OPTION_KEYS = {
  memory: knownKeys<MemoryStorageConfig>({ type: true, clock: true }),
  sqlite: knownKeys<SqliteStorageConfig>({
    type: true, database: true, busyTimeoutMs: true, changePollMs: true, tablePrefix: true, migrations: true,
  }),
  server: knownKeys<ServerStorageConfig>({
    type: true, applicationName: true, url: true, host: true, port: true, username: true, password: true, database: true,
    schema: true, tablePrefix: true, migrations: true, poolSize: true, listen: true, listenHealthCheckMs: true,
  }),
  dataSource: knownKeys<DataSourceStorageConfig>({
    dataSource: true, dataSourceToken: true, tablePrefix: true, migrations: true, schema: true, busyTimeoutMs: true,
    changePollMs: true, listen: true, listenHealthCheckMs: true,
  }),
  instance: knownKeys<CustomStorageConfig>({ instance: true }),
};
