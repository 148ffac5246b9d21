import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Storage } from '../../lib/core/storage.js';
import type { StorageConfig } from '../../lib/index.js';
import { MYSQL_PATH_ENV } from '../../lib/storage/typeorm/dialects/mysql-path.js';
import { TypeOrmStorage } from '../../lib/storage/typeorm/typeorm.storage.js';
import { databaseAvailable, freshMysqlDatabase, freshPostgresSchema, freshSqliteFile, PG_URL, withMysql, withPg } from '../support/databases.js';
import { readRuns, startWorker, until, type WorkerProcess } from './cluster.js';

const JOBS = 10_000;

interface Target {
  name: string;
  config: StorageConfig;
  /** Environment of this process and its workers while the target's tests run. */
  env?: Record<string, string>;
  /** After each test: the next one starts on an empty database. */
  cleanup(): Promise<void>;
  /** After the target's last test. */
  dispose?(): Promise<void>;
}

async function targets(): Promise<Target[]> {
  const list: Target[] = [];
  const sqlite = freshSqliteFile();
  list.push({ name: 'sqlite', config: { type: 'sqlite', database: sqlite.file }, cleanup: sqlite.remove });
  if (await databaseAvailable('postgres')) {
    const pg = await freshPostgresSchema();
    // Its own application_name, so the connection-cutting test hits only these workers.
    const applicationName = `nbj-mp-${pg.schema}`.slice(0, 48);
    list.push({ name: 'postgres', config: { type: 'postgres', url: PG_URL, schema: pg.schema, poolSize: 4, applicationName }, cleanup: pg.drop });
  }
  if (await databaseAvailable('mariadb')) {
    // MariaDB with the MySQL 8 statements forced (see `dialects/mysql-path.ts`).
    const my = await freshMysqlDatabase();
    list.push({
      name: 'mariadb (MySQL 8 path)',
      config: { type: 'mariadb', url: my.url, poolSize: 4 },
      env: { [MYSQL_PATH_ENV]: 'no-returning' },
      cleanup: async () => {
        await my.drop();
        await withMysql((c) => c.query(`CREATE DATABASE \`${my.database}\``));
      },
      dispose: my.drop,
    });
  }
  return list;
}

async function enqueueBacklog(storage: Storage, name: string, count: number, payload = '{}'): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 1000) {
    const batch = Array.from({ length: Math.min(1000, count - i) }, () => ({ queue: 'mp', name, payload, priority: 0, maxAttempts: 5 }));
    ids.push(...(await storage.enqueue(batch)).map((r) => r.id));
  }
  return ids;
}

const counts = async (storage: Storage) => (await storage.stats()).find((s) => s.queue === 'mp');

for (const target of await targets()) {
  describe(`several worker processes on one ${target.name} database`, () => {
    const workers: WorkerProcess[] = [];
    let dir = '';
    let storage: TypeOrmStorage;

    afterEach(async () => {
      await Promise.all(workers.splice(0).map((w) => w.kill()));
      await storage?.close();
      for (const key of Object.keys(target.env ?? {})) delete process.env[key];
      await target.cleanup();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });
    afterAll(async () => target.dispose?.());

    const setup = async () => {
      // Workers are forked with this process's environment.
      Object.assign(process.env, target.env);
      dir = mkdtempSync(join(tmpdir(), 'jobs-mp-'));
      storage = await TypeOrmStorage.fromConfig(target.config as never);
      await storage.init();
      if (target.env?.[MYSQL_PATH_ENV]) expect(storage.dialect.insert([]).make().next().value).toMatchObject({ text: expect.not.stringMatching(/RETURNING/) });
    };

    it(`3 processes run ${JOBS} jobs, each exactly once, none left behind`, { timeout: 180_000 }, async () => {
      await setup();
      const ids = await enqueueBacklog(storage, 'mp-record', JOBS);
      const outs = [0, 1, 2].map((i) => join(dir, `w${i}.log`));
      workers.push(...(await Promise.all(outs.map((out) => startWorker({ storage: target.config, out, concurrency: 10, prefetch: 50, pollIntervalMs: 50 })))));
      await until(async () => (await counts(storage))?.completed.allTime === JOBS, 150_000, 'every job to complete');
      await Promise.all(workers.map((w) => w.stop()));
      const runs = readRuns(outs);
      expect(runs).toHaveLength(JOBS);
      expect(new Set(runs.map((r) => r.id))).toEqual(new Set(ids));
      expect(runs.every((r) => r.attempt === 1)).toBe(true);
      // Work was shared, not done by one process.
      const perWorker = outs.map((o) => readRuns([o]).length);
      expect(perWorker.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2);
      expect(await counts(storage)).toMatchObject({ available: 0, scheduled: 0, running: 0, dead: 0 });
    });

    it('kill -9 of a worker holding running jobs: the survivor completes them after the lease expires, attempt 2', { timeout: 60_000 }, async () => {
      await setup();
      const ids = await enqueueBacklog(storage, 'mp-hold', 4, JSON.stringify({ holdMs: 600_000 }));
      const victimOut = join(dir, 'victim.log');
      const victim = await startWorker({ storage: target.config, out: victimOut, concurrency: 4, prefetch: 0, leaseMs: 800, pollIntervalMs: 50 });
      workers.push(victim);
      await until(async () => readRuns([victimOut]).length === 4, 20_000, 'the victim to start all four jobs');
      await victim.kill();
      expect((await counts(storage))!.running).toBe(4);
      const survivorOut = join(dir, 'survivor.log');
      workers.push(await startWorker({ storage: target.config, out: survivorOut, concurrency: 4, leaseMs: 800, pollIntervalMs: 50 }));
      await until(async () => (await counts(storage))?.completed.allTime === 4, 30_000, 'the survivor to complete the jobs');
      const survivorRuns = readRuns([survivorOut]);
      expect(new Set(survivorRuns.map((r) => r.id))).toEqual(new Set(ids));
      expect(survivorRuns.every((r) => r.attempt === 2)).toBe(true);
      for (const id of ids) expect(await storage.get(id)).toMatchObject({ state: 'completed', attempt: 2 });
    });

    if (target.name === 'postgres') {
      it('survives pg_terminate_backend of the workers\' connections mid-run; no job lost, none run twice in one attempt', { timeout: 180_000 }, async () => {
        await setup();
        const ids = await enqueueBacklog(storage, 'mp-record', 3000);
        const outs = [0, 1].map((i) => join(dir, `t${i}.log`));
        workers.push(...(await Promise.all(outs.map((out) => startWorker({ storage: target.config, out, concurrency: 5, prefetch: 10, pollIntervalMs: 50, leaseMs: 10_000 })))));
        await until(async () => ((await counts(storage))?.completed.allTime ?? 0) > 300, 60_000, 'processing to get going');
        const pids = workers.map((w) => w.child.pid);
        expect(pids.every(Boolean)).toBe(true);
        const killed = await withPg((c) =>
          c.query(
            `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
              WHERE application_name LIKE $1 AND pid <> pg_backend_pid() AND datname = current_database()`,
            [`${(target.config as { applicationName: string }).applicationName}%`],
          ),
        );
        expect(killed.rowCount).toBeGreaterThan(0);
        await until(async () => (await counts(storage))?.completed.allTime === 3000, 150_000, 'every job to complete after the connections were cut');
        await Promise.all(workers.map((w) => w.stop()));
        const runs = readRuns(outs);
        // None lost. At least once: a job may run again only through the rescuer, after its lease
        // ran out while its worker could not reach the database — never twice in one attempt
        // (which would mean two workers held it at once).
        expect(new Set(runs.map((r) => r.id))).toEqual(new Set(ids));
        expect(new Set(runs.map((r) => `${r.id}:${r.attempt}`)).size).toBe(runs.length);
        expect(runs.length).toBeLessThan(3000 * 1.05);
      });
    }
  });
}
