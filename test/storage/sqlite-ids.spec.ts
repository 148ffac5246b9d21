import { afterEach, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import { TypeOrmStorage } from '../../lib/storage/typeorm/typeorm.storage.js';
import { newJob, numeric } from '../storage-contract/contract-harness.js';
import { freshSqliteFile } from '../support/databases.js';

class Rollback extends Error {}

/**
 * SQLite ids (see lib/storage/typeorm/dialects/sqlite-ids.ts): a rowid, and AUTOINCREMENT's
 * sqlite_sequence, roll back with a transaction, so ids are computed from what survives it.
 */
describe('SQLite job ids are never reused', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('an id rolled back on one connection is not taken by another connection of this process', async () => {
    const { file, remove } = freshSqliteFile();
    cleanups.push(remove);
    const dataSource = new DataSource({ type: 'better-sqlite3', database: file, enableWAL: true });
    await dataSource.initialize();
    cleanups.push(() => dataSource.destroy());
    const app = await TypeOrmStorage.fromDataSource(dataSource, { dataSource });
    await app.init();
    cleanups.push(() => app.close());
    const other = await TypeOrmStorage.fromConfig({ type: 'sqlite', database: file });
    await other.init();
    cleanups.push(() => other.close());

    const [before] = await other.enqueue([newJob()]);
    let seen = '';
    await expect(
      dataSource.transaction(async (manager) => {
        seen = (await app.enqueue([newJob()], { manager }))[0]!.id;
        throw new Rollback();
      }),
    ).rejects.toBeInstanceOf(Rollback);
    const [after] = await other.enqueue([newJob()]);
    expect(after!.id).not.toBe(seen);
    expect(numeric(after!.id, seen)).toBeGreaterThan(0);
    expect(numeric(seen, before!.id)).toBeGreaterThan(0);
  });

  it('ids follow the database clock (epoch ms × 1024), stay exact JavaScript integers, and a batch past 1024 jobs keeps them increasing', async () => {
    const { file, remove } = freshSqliteFile();
    cleanups.push(remove);
    const s = await TypeOrmStorage.fromConfig({ type: 'sqlite', database: file });
    await s.init();
    cleanups.push(() => s.close());
    const now = await s.now();
    const batch = await s.enqueue(Array.from({ length: 3000 }, () => newJob()));
    const [next] = await s.enqueue([newJob()]);
    const ids = [...batch, next!].map((r) => r.id);
    expect(Number(ids[0])).toBeGreaterThanOrEqual(now * 1024);
    expect(Number(ids[ids.length - 1])).toBeLessThan(Number.MAX_SAFE_INTEGER);
    expect([...ids].sort(numeric)).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    // Listed and claimed by id as before.
    const page = await s.list({ limit: 2 });
    expect(page.jobs.map((j) => j.id)).toEqual([next!.id, ids[ids.length - 2]]);
    expect((await s.claim('q', 'w', 1, 30_000))[0]!.id).toBe(ids[0]);
  });
});
