import { describe, expect, it } from 'vitest';
import { InvalidOptionsError } from '../../lib/errors/invalid-options.error.js';
import { MYSQL_PATH_ENV } from '../../lib/storage/typeorm/dialects/mysql-path.js';
import { MIGRATIONS } from '../../lib/storage/typeorm/migrations/migrator.js';
import { tableNames } from '../../lib/storage/typeorm/table-names.js';
import { mysql8Migrations } from '../../lib/storage/typeorm/migrations/mysql.migrations.js';
import { TypeOrmStorage } from '../../lib/storage/typeorm/typeorm.storage.js';
import { newJob } from '../storage-contract/contract-harness.js';
import { availableKinds } from '../support/available-kinds.js';
import { freshMysqlDatabase, freshPostgresSchema, freshSqliteFile, PG_URL } from '../support/databases.js';
import type { DbKind } from '../support/typeorm-harness.js';

/** A fresh place, and a factory of storages on it (each with its own connection pool). */
async function place(kind: DbKind) {
  if (kind === 'postgres') {
    const { schema, drop } = await freshPostgresSchema();
    return { open: (tablePrefix?: string) => TypeOrmStorage.fromConfig({ type: 'postgres', url: PG_URL, schema, tablePrefix, poolSize: 2 }), drop };
  }
  if (kind === 'mariadb') {
    const { url, drop } = await freshMysqlDatabase();
    return { open: (tablePrefix?: string) => TypeOrmStorage.fromConfig({ type: 'mariadb', url, tablePrefix, poolSize: 2 }), drop };
  }
  const { file, remove } = freshSqliteFile();
  return { open: (tablePrefix?: string) => TypeOrmStorage.fromConfig({ type: 'sqlite', database: file, tablePrefix }), drop: remove };
}

async function appliedVersions(s: TypeOrmStorage): Promise<number[]> {
  const rows = (await s.dataSource.query(`SELECT version FROM ${s.dialect.tables.migrations} ORDER BY version`)) as Array<{ version: unknown }>;
  return rows.map((r) => Number(r.version));
}

for (const kind of await availableKinds()) {
  const latest = MIGRATIONS[kind === 'mariadb' ? 'mysql' : kind].map((m) => m.version);

  describe(`TypeORM storage migrations: ${kind}`, () => {
    it('run once when several instances start together, and again is a no-op', async () => {
      const p = await place(kind);
      const storages = await Promise.all(Array.from({ length: 4 }, () => p.open()));
      try {
        await Promise.all(storages.map((s) => s.init()));
        expect(await appliedVersions(storages[0]!)).toEqual(latest);
        // A later start (and a second init of a running one) changes nothing.
        const again = await p.open();
        storages.push(again);
        await again.init();
        await storages[0]!.init();
        expect(await appliedVersions(again)).toEqual(latest);
        // All of them share one working schema.
        const [r] = await storages[1]!.enqueue([newJob()]);
        expect((await storages[2]!.claim('q', 'w', 1, 30_000))[0]!.id).toBe(r!.id);
      } finally {
        await Promise.all(storages.map((s) => s.close()));
        await p.drop();
      }
    });

    it('keep stores with different table prefixes apart in one database', async () => {
      const p = await place(kind);
      const a = await p.open('a_');
      const b = await p.open('b_');
      try {
        await Promise.all([a.init(), b.init()]);
        await a.enqueue([newJob({ uniqueKey: 'same' })]);
        expect((await b.enqueue([newJob({ uniqueKey: 'same' })]))[0]!.duplicate).toBe(false);
        expect(await a.claim('q', 'w', 10, 30_000)).toHaveLength(1);
        expect(await b.claim('q', 'w', 10, 30_000)).toHaveLength(1);
      } finally {
        await Promise.all([a.close(), b.close()]);
        await p.drop();
      }
    });
  });
}

if ((await availableKinds()).includes('postgres')) {
  describe('TypeORM storage migrations: postgres, in a non-default schema', () => {
    it('migration 3 drops the plain state and queue indexes there (not only in public)', async () => {
      const { schema, drop } = await freshPostgresSchema();
      const s = await TypeOrmStorage.fromConfig({ type: 'postgres', url: PG_URL, schema, poolSize: 2 });
      try {
        await s.init();
        const rows = (await s.dataSource.query(`SELECT indexname FROM pg_indexes WHERE schemaname = $1 ORDER BY 1`, [schema])) as Array<{ indexname: string }>;
        const names = rows.map((r) => r.indexname);
        expect(names.some((n) => n.endsWith('claim_idx'))).toBe(true);
        expect(names.some((n) => n.endsWith('dead_idx'))).toBe(true);
        expect(names.filter((n) => n.endsWith('_state_idx') || n.endsWith('_queue_idx'))).toEqual([]);
      } finally {
        await s.close();
        await drop();
      }
    });
  });
}

describe('TypeORM storage options', () => {
  it('refuses a table prefix outside [A-Za-z0-9_]{0,32}', async () => {
    for (const bad of ['jobs;drop', 'a-b', 'x'.repeat(33), '"q"']) {
      await expect(TypeOrmStorage.fromConfig({ type: 'sqlite', database: ':memory:', tablePrefix: bad })).rejects.toBeInstanceOf(InvalidOptionsError);
    }
  });

  it('refuses an invalid PostgreSQL schema name', async () => {
    await expect(TypeOrmStorage.fromConfig({ type: 'postgres', url: PG_URL, schema: 'a"b' })).rejects.toBeInstanceOf(InvalidOptionsError);
  });

  it('with migrations: false, creates no tables', async () => {
    const s = await TypeOrmStorage.fromConfig({ type: 'sqlite', database: ':memory:', migrations: false });
    await s.init();
    try {
      await expect(s.enqueue([newJob()])).rejects.toThrow(/no such table/);
    } finally {
      await s.close();
    }
  });
});

if ((await availableKinds()).includes('mariadb')) {
  describe('TypeORM storage migrations: the MySQL 8 forms, run on MariaDB', () => {
    /** A storage that starts on the no-RETURNING path (the switch is read by init()). */
    const initOnMysql8Path = async (s: TypeOrmStorage) => {
      process.env[MYSQL_PATH_ENV] = 'no-returning';
      try {
        await s.init();
      } finally {
        delete process.env[MYSQL_PATH_ENV];
      }
      expect(s.dialect.prune(new Date(), 'dead', 1, null).make().next().value).toMatchObject({ text: expect.not.stringMatching(/RETURNING/) });
    };
    const createTable = async (s: TypeOrmStorage) => {
      const [row] = (await s.dataSource.query(`SHOW CREATE TABLE ${s.dialect.tables.jobs}`)) as Array<Record<string, string>>;
      return row!['Create Table']!.replace(/ AUTO_INCREMENT=\d+/, '');
    };

    it('have the versions and names of the MariaDB ones and build the same job table', async () => {
      expect(mysql8Migrations.map((m) => [m.version, m.name])).toEqual(MIGRATIONS.mysql.map((m) => [m.version, m.name]));
      // MySQL has no `ADD COLUMN IF NOT EXISTS` (nor IF NOT EXISTS on indexes): a new MariaDB
      // migration that uses it needs its own form in mysql8Migrations.
      const names = tableNames('mysql', 'jobs_', null);
      for (const m of mysql8Migrations) {
        const statements = m.up(names).join('\n');
        expect(statements, `migration ${m.version}`).not.toMatch(/(COLUMN|INDEX|KEY) IF NOT EXISTS/i);
      }
      const [a, b] = [await place('mariadb'), await place('mariadb')];
      const [mariadb, mysql8] = [await a.open(), await b.open()];
      try {
        await mariadb.init();
        await initOnMysql8Path(mysql8);
        expect(await appliedVersions(mysql8)).toEqual(MIGRATIONS.mysql.map((m) => m.version));
        expect(await createTable(mysql8)).toBe(await createTable(mariadb));
      } finally {
        await Promise.all([mariadb.close(), mysql8.close()]);
        await Promise.all([a.drop(), b.drop()]);
      }
    });

    it('finish a migration whose columns are there but not recorded (a half-applied one), as the MariaDB ones do', async () => {
      const p = await place('mariadb');
      const first = await p.open();
      const second = await p.open();
      try {
        await first.init();
        await first.dataSource.query(`DELETE FROM ${first.dialect.tables.migrations} WHERE version >= 4`);
        await initOnMysql8Path(second);
        expect(await appliedVersions(second)).toEqual(MIGRATIONS.mysql.map((m) => m.version));
        const [r] = await second.enqueue([newJob()]);
        expect((await second.claim('q', 'w', 1, 30_000))[0]).toMatchObject({ id: r!.id, interruptions: 0 });
      } finally {
        await Promise.all([first.close(), second.close()]);
        await p.drop();
      }
    });
  });
}
