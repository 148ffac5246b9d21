import { DataSource } from 'typeorm';
import type { DataSourceStorageConfig } from '../../lib/storage/storage-options.js';
import { TypeOrmStorage } from '../../lib/storage/typeorm/typeorm.storage.js';
import { freshMysqlDatabase, freshPostgresSchema, freshSqliteFile, PG_URL } from './databases.js';

export type DbKind = 'sqlite' | 'postgres' | 'mariadb';

/** An app DataSource on a fresh schema / database / file, an app table `note`, and a storage on it. */
export interface DataSourceHarness {
  kind: DbKind;
  dataSource: DataSource;
  storage: TypeOrmStorage;
  /** Rows of the app table `note`. */
  notes(): Promise<string[]>;
  /** SQL inserting one note (bind parameter: its body). */
  insertNote: string;
  cleanup(): Promise<void>;
}

export async function openDataSourceHarness(kind: DbKind, cfg: Partial<DataSourceStorageConfig> = {}): Promise<DataSourceHarness> {
  let dataSource: DataSource;
  let dropPlace: () => Promise<void>;
  let noteTable: string;
  if (kind === 'postgres') {
    const { schema, drop } = await freshPostgresSchema();
    dataSource = new DataSource({ type: 'postgres', url: PG_URL, schema, poolSize: 4 });
    await dataSource.initialize();
    await dataSource.query(`CREATE SCHEMA "${schema}"`);
    noteTable = `"${schema}".note`;
    await dataSource.query(`CREATE TABLE ${noteTable} (id serial PRIMARY KEY, body text NOT NULL)`);
    dropPlace = drop;
  } else if (kind === 'mariadb') {
    const { url, drop } = await freshMysqlDatabase();
    dataSource = new DataSource({ type: 'mariadb', url, poolSize: 4, supportBigNumbers: true, bigNumberStrings: true });
    await dataSource.initialize();
    noteTable = 'note';
    await dataSource.query(`CREATE TABLE note (id INT AUTO_INCREMENT PRIMARY KEY, body TEXT NOT NULL)`);
    dropPlace = drop;
  } else {
    const { file, remove } = freshSqliteFile();
    dataSource = new DataSource({ type: 'better-sqlite3', database: file, enableWAL: true });
    await dataSource.initialize();
    noteTable = 'note';
    await dataSource.query(`CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT NOT NULL)`);
    dropPlace = remove;
  }
  const storage = await TypeOrmStorage.fromDataSource(dataSource, { dataSource, ...cfg });
  await storage.init();
  const mark = kind === 'postgres' ? '$1' : '?';
  return {
    kind,
    dataSource,
    storage,
    insertNote: `INSERT INTO ${noteTable} (body) VALUES (${mark})`,
    notes: async () => ((await dataSource.query(`SELECT body FROM ${noteTable} ORDER BY id`)) as Array<{ body: string }>).map((r) => r.body),
    cleanup: async () => {
      await storage.close();
      await dataSource.destroy();
      await dropPlace();
    },
  };
}
