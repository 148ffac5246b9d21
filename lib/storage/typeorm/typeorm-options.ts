import type { DataSource, DataSourceOptions } from 'typeorm';
import { InvalidOptionsError } from '../../errors/invalid-options.error.js';
import { StorageUnavailableError } from '../../errors/storage-unavailable.error.js';
import { DEFAULT_SQLITE_FILE, type ServerStorageConfig, type SqliteStorageConfig } from '../storage-options.js';
import type { ManagerLike } from './executors/executor.js';
import type { PgClientLike } from './pg-listener.js';
import type { DialectKind } from './table-names.js';

export const DEFAULT_BUSY_TIMEOUT_MS = 5000;
/** SQLite: ms between looks for commits of other processes (see `sqlite-change-watch.ts`). */
export const DEFAULT_CHANGE_POLL_MS = 5;
const APPLICATION_NAME = 'nestjs-background-jobs';

/** DataSource options for a storage that owns its connection (`storage: { type, … }`). */
export function dataSourceOptions(cfg: SqliteStorageConfig | ServerStorageConfig, entities: DataSourceOptions['entities']): DataSourceOptions {
  if (cfg.type === 'sqlite') {
    const database = cfg.database ?? DEFAULT_SQLITE_FILE;
    return {
      type: 'better-sqlite3',
      database,
      // busy_timeout: how long a write waits for another process's lock.
      timeout: cfg.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS,
      // WAL: readers never block the writer, nor it them. (Not for in-memory databases.)
      enableWAL: database !== ':memory:',
      entities,
      synchronize: false,
      logging: false,
    };
  }
  const common = {
    url: cfg.url,
    host: cfg.host,
    port: cfg.port,
    username: cfg.username,
    password: cfg.password,
    database: cfg.database,
    poolSize: cfg.poolSize ?? 10,
    entities,
    synchronize: false,
    logging: false,
  };
  if (cfg.type === 'postgres') {
    if (cfg.applicationName !== undefined && (typeof cfg.applicationName !== 'string' || !/^[\x20-\x7e]{1,48}$/.test(cfg.applicationName))) {
      throw new InvalidOptionsError('storage.applicationName', 'expected 1 to 48 printable ASCII characters');
    }
    return { type: 'postgres', ...common, schema: cfg.schema, applicationName: cfg.applicationName ?? APPLICATION_NAME };
  }
  // bigints as strings (ids above 2^53 stay exact); utf8mb4 for any text; times are UTC
  // (our SQL reads them as text; this is for reads through the entity).
  return { type: cfg.type, ...common, charset: 'utf8mb4', supportBigNumbers: true, bigNumberStrings: true, timezone: 'Z' };
}

/** Which dialect a TypeORM DataSource speaks. */
export function dialectKindOf(ds: DataSource): DialectKind {
  const type = (ds.options as { type?: unknown }).type;
  switch (type) {
    case 'postgres':
      return 'postgres';
    case 'mysql':
    case 'mariadb':
      return 'mysql';
    case 'better-sqlite3':
      return 'sqlite';
    default:
      throw new InvalidOptionsError(
        'storage.dataSource',
        `a DataSource of type ${JSON.stringify(type)} is not supported: use 'postgres', 'mariadb', 'mysql' or 'better-sqlite3'`,
      );
  }
}

export function assertDataSource(value: unknown): DataSource {
  const ds = value as Partial<DataSource> | null;
  if (!ds || typeof ds !== 'object' || typeof ds.createQueryRunner !== 'function' || !ds.options) {
    throw new InvalidOptionsError('storage.dataSource', 'expected a TypeORM DataSource');
  }
  return ds as DataSource;
}

/** A client for the LISTEN connection, with the DataSource's own credentials and driver. */
export function pgClientFactory(ds: DataSource, channel: string): () => PgClientLike {
  // The `pg` module TypeORM loaded for this DataSource: no second import of the driver.
  const pg = (ds.driver as unknown as { postgres: { Client: new (config: object) => PgClientLike } }).postgres;
  const options = ds.options as DataSourceOptions & {
    applicationName?: string;
    url?: string; host?: string; port?: number; username?: string; password?: string; database?: string; ssl?: unknown;
    replication?: { master: { url?: string; host?: string; port?: number; username?: string; password?: string; database?: string; ssl?: unknown } };
  };
  const c = options.replication?.master ?? options;
  const config = {
    connectionString: c.url,
    host: c.host,
    port: c.port,
    user: c.username,
    password: c.password,
    database: c.database,
    ssl: c.ssl,
    application_name: `${options.applicationName ?? APPLICATION_NAME}:listen:${channel}`.slice(0, 63),
    keepAlive: true,
    connectionTimeoutMillis: 10_000,
  };
  return () => new pg.Client(config);
}

/**
 * The SQL relies on: PostgreSQL 12+ (CTEs, SKIP LOCKED); SQLite 3.42+ (`->>`,
 * `unixepoch('subsec')`). MariaDB and MySQL are checked by `mysqlPathFor`, which also picks
 * their statement path.
 */
export function assertServerVersion(kind: 'postgres' | 'sqlite', version: string): void {
  const [major = 0, minor = 0] = (version.match(/(\d+)\.(\d+)/) ?? []).slice(1).map(Number);
  if (kind === 'postgres' && major < 12) throw new StorageUnavailableError(`PostgreSQL ${version} is too old: the job storage needs 12 or later`);
  if (kind === 'sqlite' && !(major > 3 || (major === 3 && minor >= 42))) {
    throw new StorageUnavailableError(`SQLite ${version} is too old: the job storage needs 3.42 or later (update better-sqlite3)`);
  }
}

export function versionQuery(kind: DialectKind): string {
  switch (kind) {
    case 'postgres':
      return `SELECT current_setting('server_version') AS v`;
    case 'mysql':
      // The increment of this connection's session (from the server's global value): see `mysqlPathFor`.
      return 'SELECT VERSION() AS v, @@auto_increment_increment AS inc';
    case 'sqlite':
      return 'SELECT sqlite_version() AS v';
  }
}

/** The caller's transaction handle must belong to our DataSource, or its commit would not cover the jobs. */
export function assertManagerOf(ds: DataSource, manager: unknown): ManagerLike {
  const m = manager as (ManagerLike & { connection?: unknown; query?: unknown }) | null;
  if (!m || typeof m !== 'object' || typeof m.query !== 'function') {
    throw new InvalidOptionsError('manager', 'expected a TypeORM EntityManager (e.g. the one `dataSource.transaction()` gives you)');
  }
  if ((m.dataSource ?? m.connection) !== ds) {
    throw new InvalidOptionsError(
      'manager',
      'this EntityManager belongs to another DataSource than the job storage; use storage: { dataSource } with the same DataSource',
    );
  }
  return m;
}
