import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { describe, it } from 'vitest';
import { TypeOrmStorage } from '../../lib/storage/typeorm/typeorm.storage.js';

/** Test databases. Each harness gets its own schema / database / file, dropped afterwards. */
export const PG_URL = process.env.JOBS_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const MYSQL_URL = process.env.JOBS_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
const IN_CI = process.env.CI === 'true';

export type ServerKind = 'postgres' | 'mariadb';

const urlOf = (kind: ServerKind) => (kind === 'postgres' ? PG_URL : MYSQL_URL);
const envOf = (kind: ServerKind) => (kind === 'postgres' ? 'JOBS_TEST_PG_URL' : 'JOBS_TEST_MYSQL_URL');

/** A short unique identifier for a schema or database. */
export const uniqueName = (prefix: string) => `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;

async function probe(kind: ServerKind): Promise<Error | null> {
  try {
    if (kind === 'postgres') {
      const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
      await client.connect();
      await client.end();
    } else {
      const conn = await mysql.createConnection({ uri: MYSQL_URL, connectTimeout: 3000 });
      await conn.end();
    }
    return null;
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

/**
 * Whether the database is there. When it is not: under CI=true a failing test says so;
 * otherwise the suite is skipped with a warning.
 */
export async function databaseAvailable(kind: ServerKind): Promise<boolean> {
  const error = await probe(kind);
  if (!error) return true;
  const what = `${kind} at ${urlOf(kind)} is unreachable (${error.message}); set ${envOf(kind)}`;
  if (IN_CI) {
    describe(`${kind} test database`, () => {
      it('is reachable (required under CI=true)', () => {
        throw new Error(what);
      });
    });
  } else {
    console.warn(`\n⚠ Skipping the ${kind} tests: ${what}.\n`);
    // A skipped suite, so the file reports "skipped" rather than "no test suite found".
    describe.skip(`${kind} tests (database unreachable)`, () => {
      it.skip(what, () => undefined);
    });
  }
  return false;
}

/** A fresh PostgreSQL schema name, and a way to drop it. */
export async function freshPostgresSchema(): Promise<{ schema: string; drop(): Promise<void> }> {
  const schema = uniqueName('jobs_test');
  return {
    schema,
    drop: () => withPg((c) => c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)).then(() => undefined),
  };
}

/** Runs `fn` on a short-lived PostgreSQL client. */
export async function withPg<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A fresh MariaDB database and its URL, and a way to drop it. */
export async function freshMysqlDatabase(): Promise<{ database: string; url: string; drop(): Promise<void> }> {
  const database = uniqueName('jobs_test');
  await withMysql((c) => c.query(`CREATE DATABASE \`${database}\``));
  const url = new URL(MYSQL_URL);
  url.pathname = `/${database}`;
  return {
    database,
    url: url.toString(),
    drop: () => withMysql((c) => c.query(`DROP DATABASE IF EXISTS \`${database}\``)).then(() => undefined),
  };
}

/** Runs `fn` on a short-lived MariaDB connection. */
export async function withMysql<T>(fn: (conn: mysql.Connection) => Promise<T>, url = MYSQL_URL): Promise<T> {
  const conn = await mysql.createConnection({ uri: url });
  try {
    return await fn(conn);
  } finally {
    await conn.end();
  }
}

/** A fresh SQLite file path, and a way to delete it (with its WAL files). */
export function freshSqliteFile(): { file: string; remove(): Promise<void> } {
  const file = join(tmpdir(), `${uniqueName('jobs_test')}.sqlite`);
  return {
    file,
    remove: async () => {
      await Promise.all(['', '-wal', '-shm'].map((s) => rm(`${file}${s}`, { force: true })));
    },
  };
}

/** A TypeORM storage on a fresh SQLite file, initialised; `cleanup` closes it and removes the file. */
export async function freshSqliteStorage(): Promise<{ storage: TypeOrmStorage; cleanup(): Promise<void> }> {
  const { file, remove } = freshSqliteFile();
  const storage = await TypeOrmStorage.fromConfig({ type: 'sqlite', database: file });
  await storage.init();
  return {
    storage,
    cleanup: async () => {
      await storage.close();
      await remove();
    },
  };
}

/** Resolves after `ms` of real time (database clocks only move for real). */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
