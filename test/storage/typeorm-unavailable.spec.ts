import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NewJob } from '../../lib/core/job-record.js';
import { JobsModule, QueueService, StorageUnavailableError } from '../../lib/index.js';
import { TypeOrmStorage } from '../../lib/storage/typeorm/typeorm.storage.js';
import { availableKinds } from '../support/available-kinds.js';
import { freshMysqlDatabase, freshPostgresSchema, MYSQL_URL, PG_URL, uniqueName, withMysql, withPg } from '../support/databases.js';
import { until } from '../support/feature-targets.js';
import { TcpProxy } from '../support/tcp-proxy.js';

const job = (overrides: Partial<NewJob> = {}): NewJob => ({ queue: 'q', name: 'job', payload: '{}', priority: 0, maxAttempts: 3, ...overrides });

/** What `op` rejected with (null when it resolved). */
const rejection = (op: () => Promise<unknown>): Promise<unknown> => op().then(() => null, (err: unknown) => err);

const UNREACHABLE = /database is unreachable or not accepting connections right now.*retry later \(.+\)\. Check that the database is reachable and the connection settings/;

function expectUnavailable(err: unknown, what: string): StorageUnavailableError {
  expect(err, `${what}: ${String(err)}`).toBeInstanceOf(StorageUnavailableError);
  const e = err as StorageUnavailableError;
  expect(e.message, what).toMatch(UNREACHABLE);
  expect(e.cause, what).toBeInstanceOf(Error);
  return e;
}

/** The driver's error under TypeORM's wrapper, as the test logs it. */
const driverCode = (e: StorageUnavailableError) => {
  const cause = e.cause as { code?: unknown; errno?: unknown; driverError?: { code?: unknown }; message: string };
  return String(cause.code ?? cause.driverError?.code ?? cause.errno ?? cause.message);
};

for (const kind of (await availableKinds()).filter((k) => k !== 'sqlite')) {
  const serverUrl = kind === 'postgres' ? PG_URL : MYSQL_URL;

  describe(`a ${kind} database that goes away: StorageUnavailableError, then recovery`, () => {
    let proxy: TcpProxy;
    let drop: () => Promise<void>;
    let config: { type: 'postgres' | 'mariadb'; url: string; schema?: string; poolSize: number; listen: false; applicationName?: string };
    const appName = uniqueName('jobs_unavail');

    beforeEach(async () => {
      proxy = await TcpProxy.start(serverUrl);
      if (kind === 'postgres') {
        const place = await freshPostgresSchema();
        drop = place.drop;
        config = { type: 'postgres', url: proxy.through(PG_URL), schema: place.schema, poolSize: 2, listen: false, applicationName: appName };
      } else {
        const place = await freshMysqlDatabase();
        drop = place.drop;
        config = { type: 'mariadb', url: proxy.through(place.url), poolSize: 2, listen: false };
      }
    });

    afterEach(async () => {
      await proxy.close();
      await drop();
    });

    it('every storage operation rejects with StorageUnavailableError while the port is closed, and works once it is back', async () => {
      const storage = await TypeOrmStorage.fromConfig(config);
      try {
        await storage.init();
        const [a, b] = await storage.enqueue([job(), job({ uniqueKey: 'k' })]);
        const [held] = await storage.claim('q', 'w1', 1, 60_000);
        await proxy.cut();
        const ops: Record<string, () => Promise<unknown>> = {
          enqueue: () => storage.enqueue([job()]),
          enqueueClaimed: () => storage.enqueueClaimed(job(), 'w1', 60_000),
          claim: () => storage.claim('q', 'w1', 5, 60_000),
          complete: () => storage.complete([{ id: held!.id, workerId: 'w1' }]),
          fail: () => storage.fail([{ id: held!.id, workerId: 'w1', error: { name: 'E', message: 'm', attempt: 1, at: new Date().toISOString() }, retryDelayMs: 10 }]),
          release: () => storage.release([held!.id], 'w1'),
          heartbeat: () => storage.heartbeat([held!.id], 'w1', 60_000),
          rescue: () => storage.rescue(),
          progress: () => storage.progress(held!.id, 'w1', 50),
          completeWithin: () => storage.completeWithin(held!.id, 'w1', async () => 1, () => null),
          get: () => storage.get(a!.id),
          findByUniqueKey: () => storage.findByUniqueKey('k'),
          list: () => storage.list({ queue: 'q' }),
          cancel: () => storage.cancel(b!.id),
          retry: () => storage.retry(b!.id),
          stats: () => storage.stats(),
          pause: () => storage.pause('q'),
          resume: () => storage.resume('q'),
          pausedQueues: () => storage.pausedQueues(),
          prune: () => storage.prune({ olderThan: new Date(), states: ['completed'] }),
          foldCounters: () => storage.foldCounters(),
          now: () => storage.now(),
        };
        const codes = new Set<string>();
        for (const [name, op] of Object.entries(ops)) codes.add(driverCode(expectUnavailable(await rejection(op), name)));
        if (process.env.JOBS_PRINT_CAUSES) console.log(kind, [...codes]);
        expect([...codes].join(' ')).toMatch(/ECONNREFUSED|ECONNRESET|Connection terminated|PROTOCOL_CONNECTION_LOST/);
        await proxy.restore();
        expect(held!.id).toBe(a!.id);
        expect(await storage.get(b!.id)).toMatchObject({ id: b!.id, state: 'available' });
        expect(await storage.heartbeat([held!.id], 'w1', 60_000)).toEqual({ lost: [], cancelled: [] });
        expect(await storage.complete([{ id: held!.id, workerId: 'w1' }])).toEqual([held!.id]);
      } finally {
        await storage.close();
      }
    });

    it('every QueueService operation that reaches the database rejects with StorageUnavailableError while it is unreachable', async () => {
      const mod = await Test.createTestingModule({ imports: [JobsModule.forRoot({ storage: config, workers: false, logger: false })] }).compile();
      const app: INestApplication = mod.createNestApplication({ logger: false });
      await app.init();
      try {
        const queue = app.get(QueueService);
        const { id } = await queue.enqueue('some-job', { n: 1 });
        await proxy.cut();
        const ops: Record<string, () => Promise<unknown>> = {
          enqueue: () => queue.enqueue('some-job', { n: 2 }),
          enqueueMany: () => queue.enqueueMany([{ name: 'some-job', payload: 1 }, { name: 'other-job', payload: 2 }]),
          getJob: () => queue.getJob(id),
          list: () => queue.list({ queue: 'default' }),
          cancel: () => queue.cancel(id),
          retry: () => queue.retry(id),
          retryAll: () => queue.retryAll(),
          stats: () => queue.stats(),
          pause: () => queue.pause('default'),
          resume: () => queue.resume('default'),
          prune: () => queue.prune({ olderThan: new Date() }),
          every: () => queue.every('some-job', {}, { every: '5m' }),
          unschedule: () => queue.unschedule('some-job'),
        };
        for (const [name, op] of Object.entries(ops)) expectUnavailable(await rejection(op), name);
        await proxy.restore();
        expect(await queue.getJob(id)).toMatchObject({ id });
      } finally {
        await proxy.restore().catch(() => undefined);
        await app.close();
      }
    });

    it('a connection killed by the server while a statement runs: StorageUnavailableError, and the next call works', async () => {
      // No proxy here: the server itself ends the connection.
      const direct = { ...config, url: kind === 'postgres' ? PG_URL : config.url.replace(`127.0.0.1:${proxy.port}`, new URL(MYSQL_URL).host) };
      const storage = await TypeOrmStorage.fromConfig(direct);
      try {
        await storage.init();
        const [a] = await storage.enqueue([job()]);
        const killed = kind === 'postgres' ? await killWhileWaitingPg(storage, a!.id, appName, config.schema!) : await killWhileWaitingMysql(storage, a!.id, new URL(config.url).pathname.slice(1));
        expectUnavailable(killed, 'cancel on a killed connection');
        expect(await storage.cancel(a!.id)).toMatchObject({ id: a!.id, state: 'cancelled' });
        expect((await storage.enqueue([job()])).length).toBe(1);
      } finally {
        await storage.close();
      }
    });

    if (kind === 'postgres') {
      it('pooled connections terminated while idle: no raw driver error, and the storage recovers', async () => {
        const storage = await TypeOrmStorage.fromConfig({ ...config, url: PG_URL });
        try {
          await storage.init();
          await Promise.all([storage.stats(), storage.stats()]);
          const n = await withPg(async (c) => (await c.query('SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = $1', [appName])).rows[0].n as number);
          expect(n).toBeGreaterThan(0);
          const first = await rejection(() => storage.enqueue([job()]));
          if (first !== null) expectUnavailable(first, 'enqueue right after the kill');
          expect((await storage.enqueue([job()])).length).toBe(1);
        } finally {
          await storage.close();
        }
      });
    }
  });
}

/**
 * PostgreSQL: another session locks the job's row, the storage's cancel waits on it, and
 * pg_terminate_backend ends the storage's connection (57P01) mid-statement.
 */
async function killWhileWaitingPg(storage: TypeOrmStorage, id: string, appName: string, schema: string): Promise<unknown> {
  return withPg(async (holder) => {
    await holder.query('BEGIN');
    await holder.query(`SELECT id FROM "${schema}".jobs_job WHERE id = $1 FOR UPDATE`, [id]);
    const cancel = rejection(() => storage.cancel(id));
    let pid = 0;
    await until(async () => {
      const { rows } = await holder.query(
        `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
        [appName],
      );
      pid = rows[0]?.pid ?? 0;
      return pid !== 0;
    }, 5000, "the storage's cancel to wait on the row lock");
    await holder.query('SELECT pg_terminate_backend($1)', [pid]);
    const err = await cancel;
    await holder.query('ROLLBACK');
    return err;
  });
}

/** MariaDB: the same, with KILL of the storage's connection. */
async function killWhileWaitingMysql(storage: TypeOrmStorage, id: string, database: string): Promise<unknown> {
  return withMysql(async (holder) => {
    await holder.query('START TRANSACTION');
    await holder.query('SELECT id FROM jobs_job WHERE id = ? FOR UPDATE', [id]);
    const cancel = rejection(() => storage.cancel(id));
    let victim = 0;
    await until(async () => {
      const [rows] = await holder.query(
        `SELECT id FROM information_schema.PROCESSLIST WHERE db = ? AND id <> CONNECTION_ID() AND command = 'Query'`,
        [database],
      );
      victim = (rows as Array<{ id: number }>)[0]?.id ?? 0;
      return victim !== 0;
    }, 5000, "the storage's cancel to wait on the row lock");
    await holder.query(`KILL ${Number(victim)}`);
    const err = await cancel;
    await holder.query('ROLLBACK');
    return err;
  }, new URL(`/${database}`, MYSQL_URL).toString());
}
