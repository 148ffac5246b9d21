import type { Clock } from '../core/clock.js';
import type { Storage } from '../core/storage.js';

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
  tablePrefix?: string;
  /** false: the app runs the migrations itself. */
  migrations?: boolean;
}

export interface ServerStorageConfig {
  type: 'postgres' | 'mysql' | 'mariadb';
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
}

/** An app's own TypeORM DataSource (e.g. from @nestjs/typeorm): the jobs table lives in its database. */
export interface DataSourceStorageConfig {
  /** A TypeORM `DataSource`. */
  dataSource?: unknown;
  /** Or the injection token of one (e.g. `getDataSourceToken()`), resolved from the app's container. */
  dataSourceToken?: string | symbol | Function;
  tablePrefix?: string;
  migrations?: boolean;
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
