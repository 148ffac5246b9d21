import type pg from 'pg';
import { MARIADB, PG } from './config.js';

/** Runs `fn` with one short-lived PostgreSQL client (the driver is loaded on first use). */
export async function withPg<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const { default: pgModule } = await import('pg');
  const client = new pgModule.Client({ ...PG, application_name: 'bench-admin' });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function recreatePgSchema(schema: string): Promise<void> {
  await withPg(async (c) => {
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await c.query(`CREATE SCHEMA "${schema}"`);
  });
}

export async function dropPgSchema(schema: string): Promise<void> {
  await withPg(async (c) => {
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  });
}

async function withMaria(fn: (run: (sql: string) => Promise<unknown>) => Promise<void>): Promise<void> {
  const { default: mysql } = await import('mysql2/promise');
  const conn = await mysql.createConnection({ host: MARIADB.host, port: MARIADB.port, user: MARIADB.user, password: MARIADB.password });
  try {
    await fn((sql) => conn.query(sql));
  } finally {
    await conn.end();
  }
}

export async function recreateMariaDb(): Promise<void> {
  await withMaria(async (run) => {
    await run(`DROP DATABASE IF EXISTS \`${MARIADB.database}\``);
    await run(`CREATE DATABASE \`${MARIADB.database}\``);
  });
}

export async function dropMariaDb(): Promise<void> {
  await withMaria(async (run) => {
    await run(`DROP DATABASE IF EXISTS \`${MARIADB.database}\``);
  });
}
