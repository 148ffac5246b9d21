import Database from 'better-sqlite3';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NewJob } from '../../lib/core/job-record.js';
import { StorageUnavailableError } from '../../lib/index.js';
import { TypeOrmStorage } from '../../lib/storage/typeorm/typeorm.storage.js';
import { freshSqliteFile } from '../support/databases.js';

const job = (): NewJob => ({ queue: 'q', name: 'job', payload: '{}', priority: 0, maxAttempts: 3 });
const rejection = (op: () => Promise<unknown>): Promise<unknown> => op().then(() => null, (err: unknown) => err);
const causeCode = (err: unknown) => String((err as { cause?: { code?: unknown } }).cause?.code);

describe('SQLite that cannot take a write: StorageUnavailableError', () => {
  let file: string;
  let remove: () => Promise<void>;
  beforeEach(() => {
    ({ file, remove } = freshSqliteFile());
  });
  afterEach(async () => {
    await remove();
  });

  it('busy: another connection holds the write lock past busyTimeoutMs; writes work again once it lets go', async () => {
    const storage = await TypeOrmStorage.fromConfig({ type: 'sqlite', database: file, busyTimeoutMs: 50 });
    await storage.init();
    const other = new Database(file);
    try {
      const [a] = await storage.enqueue([job()]);
      other.exec('BEGIN IMMEDIATE');
      const writes: Record<string, () => Promise<unknown>> = {
        enqueue: () => storage.enqueue([job()]),
        claim: () => storage.claim('q', 'w1', 1, 60_000),
        cancel: () => storage.cancel(a!.id),
        pause: () => storage.pause('q'),
        heartbeat: () => storage.heartbeat([a!.id], 'w1', 60_000),
        rescue: () => storage.rescue(),
      };
      for (const [name, op] of Object.entries(writes)) {
        const err = await rejection(op);
        expect(err, `${name}: ${String(err)}`).toBeInstanceOf(StorageUnavailableError);
        expect(causeCode(err), name).toMatch(/^SQLITE_BUSY/);
        expect((err as Error).message, name).toMatch(/SQLite database is busy.*retry later, or raise busyTimeoutMs \(database is locked\)/);
      }
      // Readers are not blocked by a writer (WAL).
      expect(await storage.get(a!.id)).toMatchObject({ state: 'available' });
      other.exec('ROLLBACK');
      expect(await storage.claim('q', 'w1', 1, 60_000)).toMatchObject([{ id: a!.id }]);
    } finally {
      other.close();
      await storage.close();
    }
  });

  it('read-only: a DataSource opened read-only rejects writes, and still reads', async () => {
    const writer = await TypeOrmStorage.fromConfig({ type: 'sqlite', database: file });
    await writer.init();
    const [a] = await writer.enqueue([job()]);
    await writer.close();
    const ds = new DataSource({ type: 'better-sqlite3', database: file, readonly: true });
    await ds.initialize();
    const storage = await TypeOrmStorage.fromDataSource(ds, { dataSource: ds, migrations: false });
    try {
      await storage.init();
      const err = await rejection(() => storage.enqueue([job()]));
      expect(err, String(err)).toBeInstanceOf(StorageUnavailableError);
      expect(causeCode(err)).toMatch(/^SQLITE_READONLY/);
      expect((err as Error).message).toMatch(/SQLite file cannot be opened or written.*permissions/);
      expect(await rejection(() => storage.complete([{ id: a!.id, workerId: 'w1' }]))).toBeInstanceOf(StorageUnavailableError);
      expect(await storage.get(a!.id)).toMatchObject({ state: 'available' });
    } finally {
      await storage.close();
      await ds.destroy();
    }
  });

  it('cannot be opened: a path under a regular file (TypeORM creates missing directories, not this)', async () => {
    const blocker = new Database(file);
    blocker.close();
    const storage = await TypeOrmStorage.fromConfig({ type: 'sqlite', database: join(file, 'jobs.sqlite') });
    const err = await rejection(() => storage.init());
    expect(err, String(err)).toBeInstanceOf(StorageUnavailableError);
    await storage.close();
  });
});
