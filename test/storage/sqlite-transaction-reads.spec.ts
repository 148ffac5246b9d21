import { afterEach, describe, expect, it } from 'vitest';
import type { NewJob } from '../../lib/core/job-record.js';
import { sqliteChanges } from '../../lib/storage/typeorm/dialects/sqlite-changes.js';
import { TypeOrmStorage } from '../../lib/storage/typeorm/typeorm.storage.js';
import { freshSqliteFile, sleep } from '../support/databases.js';

const job = (queue = 'q'): NewJob => ({ queue, name: 'job', payload: '{}', priority: 0, maxAttempts: 3 });

interface QueryManager {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

/**
 * A job's `transaction: true` run holds a deferred transaction on the storage's one SQLite
 * connection while its handler works. A read from elsewhere in the process (a scrape, the
 * change watch) that ran inside it would take the transaction's snapshot: once another process
 * then committed, the handler's first write failed at once with SQLITE_BUSY ("database is
 * locked") instead of waiting, attempt after attempt.
 */
describe('SQLite: reads while a job holds its transaction', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function pair() {
    const { file, remove } = freshSqliteFile();
    cleanups.push(remove);
    const open = async () => {
      const s = await TypeOrmStorage.fromConfig({ type: 'sqlite', database: file, changePollMs: false });
      await s.init();
      cleanups.push(() => s.close());
      return s;
    };
    return { a: await open(), b: await open() };
  }

  it("a read from outside waits for the job's transaction, whose write then succeeds after another process commits", async () => {
    const { a, b } = await pair();
    const { id } = (await a.enqueue([job()]))[0]!;
    const [claimed] = await a.claim('q', 'w', 1, 30_000);
    expect(claimed!.id).toBe(id);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    const completing = a.completeWithin(
      id,
      'w',
      async (manager) => {
        entered();
        await gate;
        // The handler's own write, in its transaction.
        await (manager as QueryManager).query(`UPDATE ${a.dialect.tables.jobs} SET priority = priority WHERE id = ?`, [Number(id)]);
        return 'done';
      },
      (v) => JSON.stringify(v),
    );
    await inside;
    let readDone = false;
    const reading = a.get(id).then((r) => ((readDone = true), r));
    await sleep(20);
    // It waits: run inside the transaction it would have started its snapshot.
    expect(readDone).toBe(false);
    await b.enqueue([job('other')]);
    release();
    await expect(completing).resolves.toEqual({ held: true, value: 'done' });
    expect((await reading)!.state).toBe('completed');
  });

  it("the change watch's reads wait for any transaction on the connection to end", async () => {
    const { a } = await pair();
    const runner = a.dataSource.createQueryRunner();
    await runner.startTransaction();
    let looked = false;
    const run = (a as unknown as { run: (step: ReturnType<typeof sqliteChanges>) => Promise<unknown> }).run.bind(a);
    const look = run(sqliteChanges(a.dialect.tables, null, false)).then(() => (looked = true));
    await sleep(20);
    expect(looked).toBe(false);
    await runner.commitTransaction();
    await runner.release();
    await look;
    expect(looked).toBe(true);
  });
});
