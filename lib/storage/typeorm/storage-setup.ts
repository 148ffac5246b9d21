import { DataSource, DriverPackageNotInstalledError, type DataSourceOptions } from 'typeorm';
import { InvalidOptionsError } from '../../errors/invalid-options.error.js';
import type { DataSourceStorageConfig, ServerStorageConfig, SqliteStorageConfig } from '../storage-options.js';
import type { Dialect } from './dialect.js';
import { dialectFor } from './dialects/dialect-for.js';
import { jobEntitySchema } from './job.entity.js';
import { assertSchema, assertTablePrefix, tableNames, type DialectKind } from './table-names.js';
import { assertDataSource, dataSourceOptions, DEFAULT_BUSY_TIMEOUT_MS, DEFAULT_CHANGE_POLL_MS, dialectKindOf } from './typeorm-options.js';

/** Everything a TypeOrmStorage is built from, validated. */
export interface StorageSetup {
  dataSource: DataSource;
  /** We created it: `close()` destroys it. */
  ownsDataSource: boolean;
  dialect: Dialect;
  migrations: boolean;
  busyTimeoutMs: number;
  listen: boolean;
  listenHealthCheckMs?: number;
  /** SQLite: ms between looks for other processes' commits; 0: off. */
  changePollMs: number;
}

/** `storage: { type: 'sqlite' | 'postgres' | 'mysql' | 'mariadb', … }`: a DataSource of our own. */
export function setupFromConfig(cfg: SqliteStorageConfig | ServerStorageConfig): StorageSetup {
  const kind: DialectKind = cfg.type === 'sqlite' ? 'sqlite' : cfg.type === 'postgres' ? 'postgres' : 'mysql';
  const prefix = assertTablePrefix(cfg.tablePrefix);
  const schema = cfg.type === 'postgres' ? assertSchema(cfg.schema) : null;
  const server = cfg.type === 'sqlite' ? null : cfg;
  return {
    dataSource: ownDataSource(cfg.type, dataSourceOptions(cfg, [jobEntitySchema(kind, prefix, schema)])),
    ownsDataSource: true,
    dialect: dialectFor(kind, tableNames(kind, prefix, schema)),
    migrations: cfg.migrations !== false,
    busyTimeoutMs: cfg.type === 'sqlite' ? (cfg.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS) : DEFAULT_BUSY_TIMEOUT_MS,
    listen: server?.listen !== false,
    listenHealthCheckMs: server?.listenHealthCheckMs,
    changePollMs: cfg.type === 'sqlite' ? changePollMsOf(cfg.changePollMs) : 0,
  };
}

/** `storage: { dataSource }`: the app's DataSource, initialized by the app and never destroyed by us. */
export function setupFromDataSource(value: unknown, cfg: DataSourceStorageConfig): StorageSetup {
  const dataSource = assertDataSource(value);
  const kind = dialectKindOf(dataSource);
  const prefix = assertTablePrefix(cfg.tablePrefix);
  const schema = kind === 'postgres' ? assertSchema(cfg.schema ?? (dataSource.options as { schema?: string }).schema) : null;
  return {
    dataSource,
    ownsDataSource: false,
    dialect: dialectFor(kind, tableNames(kind, prefix, schema)),
    migrations: cfg.migrations !== false,
    busyTimeoutMs: cfg.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS,
    listen: cfg.listen !== false,
    listenHealthCheckMs: cfg.listenHealthCheckMs,
    changePollMs: kind === 'sqlite' ? changePollMsOf(cfg.changePollMs) : 0,
  };
}

/** The driver package each storage type loads (an optional peer dependency, except better-sqlite3). */
const DRIVER_PACKAGE = { sqlite: 'better-sqlite3', postgres: 'pg', mysql: 'mysql2', mariadb: 'mysql2' } as const;

/** TypeORM loads the driver here: a missing one is named, with the command that installs it. */
function ownDataSource(type: keyof typeof DRIVER_PACKAGE, options: DataSourceOptions): DataSource {
  try {
    return new DataSource(options);
  } catch (err) {
    if (!(err instanceof DriverPackageNotInstalledError)) throw err;
    const pkg = DRIVER_PACKAGE[type];
    throw new InvalidOptionsError('storage.type', `storage type '${type}' needs the database driver '${pkg}', which is not installed: run npm install ${pkg}`);
  }
}

/** `changePollMs` (validated by `createStorage`): unset → the default; `false` or 0 → off. */
function changePollMsOf(value: number | false | undefined): number {
  return value === undefined ? DEFAULT_CHANGE_POLL_MS : value === false ? 0 : value;
}
