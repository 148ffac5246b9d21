import { createHash } from 'node:crypto';
import { sql, step, type Flow, type Sql, type Step } from '../flow.js';
import { asNumber } from '../job-row.js';
import type { DialectKind, TableNames } from '../table-names.js';
import type { Migration } from './migration.js';
import type { MysqlPath } from '../dialects/mysql-path.js';
import { mysql8Migrations, mysqlMigrations } from './mysql.migrations.js';
import { postgresMigrations } from './postgres.migrations.js';
import { sqliteMigrations } from './sqlite.migrations.js';

export const MIGRATIONS: Record<DialectKind, Migration[]> = {
  postgres: postgresMigrations,
  mysql: mysqlMigrations,
  sqlite: sqliteMigrations,
};

/** Seconds a starting instance waits for another one's migration before giving up. */
const LOCK_WAIT_S = 60;

/**
 * The step that brings the schema up to date. Several instances may start at once: each
 * takes a lock first, so one migrates and the others then find nothing left to do.
 * - PostgreSQL: `pg_advisory_xact_lock` inside one transaction (DDL is transactional there),
 *   released by the commit.
 * - MariaDB / MySQL: `GET_LOCK` on the step's connection (DDL commits implicitly, so each migration
 *   is recorded right after its statements; `IF NOT EXISTS` makes a half-applied one
 *   resumable), released at the end.
 * - SQLite: the whole step inside `BEGIN IMMEDIATE` (the database's write lock).
 * Returns the versions it applied.
 */
export function migrationStep(kind: DialectKind, t: TableNames, mysqlPath: MysqlPath = 'returning'): Step<number[]> {
  const all = kind === 'mysql' && mysqlPath === 'no-returning' ? mysql8Migrations : MIGRATIONS[kind];
  const pending = (applied: Set<number>) => all.filter((m) => !applied.has(m.version));
  switch (kind) {
    case 'postgres':
      return step('tx', function* () {
        yield sql(`SET LOCAL lock_timeout = '${LOCK_WAIT_S}s'`);
        yield sql(`SELECT pg_advisory_xact_lock($1::bigint)`, [lockKey(t)]);
        if (t.schema) {
          const { rows } = yield sql(`SELECT 1 FROM pg_namespace WHERE nspname = $1`, [t.schema]);
          if (!rows.length) {
            // Stores with other prefixes may be creating the same schema: CREATE SCHEMA IF NOT
            // EXISTS is not safe against that race, so creators of one schema queue on its own lock.
            yield sql(`SELECT pg_advisory_xact_lock($1::bigint)`, [lockKey({ ...t, prefix: '' }, 'schema')]);
            yield sql(`CREATE SCHEMA IF NOT EXISTS "${t.schema}"`);
          }
        }
        yield sql(`CREATE TABLE IF NOT EXISTS ${t.migrations} (
          version integer PRIMARY KEY, name varchar(128) NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
        return yield* apply(pending(yield* applied()), (m) => sql(`INSERT INTO ${t.migrations} (version, name) VALUES ($1, $2)`, [m.version, m.name]));
      });
    case 'mysql':
      return step('write', function* () {
        const name = `jobs-migrate:${lockKey(t)}`;
        // Lock names are server-wide and at most 64 characters: a hash of ours and the database's.
        const { rows } = yield sql(`SELECT GET_LOCK(SHA1(CONCAT(?, ':', DATABASE())), ?) AS got`, [name, LOCK_WAIT_S]);
        if (asNumber(rows[0]?.got) !== 1) throw new Error(`another instance held the migration lock for ${LOCK_WAIT_S} s`);
        try {
          yield sql(`CREATE TABLE IF NOT EXISTS ${t.migrations} (
            version INT NOT NULL PRIMARY KEY, name VARCHAR(128) NOT NULL, applied_at DATETIME(3) NOT NULL
          ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);
          return yield* apply(pending(yield* applied()), (m) =>
            sql(`INSERT INTO ${t.migrations} (version, name, applied_at) VALUES (?, ?, UTC_TIMESTAMP(3))`, [m.version, m.name]),
          );
        } finally {
          yield sql(`SELECT RELEASE_LOCK(SHA1(CONCAT(?, ':', DATABASE()))) AS released`, [name]);
        }
      });
    case 'sqlite':
      return step('tx', function* () {
        yield sql(`CREATE TABLE IF NOT EXISTS ${t.migrations} (
          version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`);
        return yield* apply(pending(yield* applied()), (m) =>
          sql(`INSERT INTO ${t.migrations} (version, name, applied_at) VALUES (?, ?, CAST(unixepoch('subsec') * 1000 AS INTEGER))`, [m.version, m.name]),
        );
      });
  }

  function* applied(): Flow<Set<number>> {
    const { rows } = yield sql(`SELECT version FROM ${t.migrations}`);
    return new Set(rows.map((r) => asNumber(r.version)));
  }

  function* apply(todo: Migration[], record: (m: Migration) => Sql): Flow<number[]> {
    for (const m of todo) {
      for (const statement of m.up(t)) yield sql(statement);
      if (m.run) yield* m.run(t);
      yield record(m);
    }
    return todo.map((m) => m.version);
  }
}

/** A stable 64-bit key per schema and prefix (so two job stores in one database migrate independently). */
function lockKey(t: TableNames, scope = 'tables'): string {
  const digest = createHash('sha256').update(`nestjs-background-jobs:${scope}:${t.schema ?? ''}:${t.prefix}`).digest();
  return digest.readBigInt64BE(0).toString();
}
