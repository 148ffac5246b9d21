import type { Subscription } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import type { NewJob } from '../../lib/core/job-record.js';
import type { Wakeup } from '../../lib/core/storage.js';
import { InvalidOptionsError } from '../../lib/index.js';
import { createStorage } from '../../lib/storage/create-storage.js';
import type { StorageConfig } from '../../lib/storage/storage-options.js';
import type { Changes, QueueMarks } from '../../lib/storage/typeorm/dialects/sqlite-changes.js';
import { SqliteChangeWatch, wakeupsOf } from '../../lib/storage/typeorm/sqlite-change-watch.js';
import { tableNames } from '../../lib/storage/typeorm/table-names.js';
import { TypeOrmStorage } from '../../lib/storage/typeorm/typeorm.storage.js';
import { freshSqliteFile, sleep } from '../support/databases.js';

const job = (queue = 'q', delayMs = 0): NewJob => ({ queue, name: 'job', payload: '{}', priority: 0, maxAttempts: 3, delayMs });

/** Waits (polling, generously) until `check` holds. */
async function until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

describe('SQLite wake-ups across processes (changePollMs)', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  /** Two storages on one file, each with its own connection: as two processes would have. */
  async function pair(changePollMs: number | false = 2, settleMs = 50) {
    const { file, remove } = freshSqliteFile();
    cleanups.push(remove);
    const open = async (poll: number | false) => {
      const s = await TypeOrmStorage.fromConfig({ type: 'sqlite', database: file, changePollMs: poll });
      await s.init();
      cleanups.push(() => s.close());
      return s;
    };
    const worker = await open(changePollMs);
    const producer = await open(false);
    const woken: Wakeup[] = [];
    const sub: Subscription = worker.wakeups().subscribe((w) => woken.push(w));
    cleanups.push(async () => sub.unsubscribe());
    // The first look takes the marks; later ones compare against them.
    await sleep(settleMs);
    return { worker, producer, woken };
  }

  it("wakes a queue when another connection stores a job there, and only that queue", async () => {
    const { producer, woken } = await pair();
    await producer.enqueue([job('q')]);
    await until(() => woken.includes('q'), "a wake-up for 'q'");
    expect(woken).toEqual(['q']);
  });

  it('wakes on what another connection does to the pending jobs: claim, release, cancel, retry, resume', async () => {
    const { producer, woken } = await pair();
    const [stored] = await producer.enqueue([job('q')]);
    const step = async (what: string, op: () => Promise<unknown>) => {
      const before = woken.length;
      await op();
      await until(() => woken.length === before + 1, what);
    };
    await until(() => woken.length === 1, 'the enqueue');
    await step('the claim', () => producer.claim('q', 'other', 1, 60_000));
    await step('the release', () => producer.release([stored!.id], 'other'));
    await step('the cancel', () => producer.cancel(stored!.id));
    await step('the retry', () => producer.retry(stored!.id));
    await producer.pause('q');
    await sleep(30);
    expect(woken).toHaveLength(5); // paused: no wake-up
    await step('the resume', () => producer.resume('q'));
    expect(new Set(woken)).toEqual(new Set(['q']));
  });

  it('a resume by another process wakes the queue even when this process paused it', async () => {
    const { worker, producer, woken } = await pair();
    await producer.enqueue([job('q')]);
    await until(() => woken.length === 1, 'the enqueue');
    await worker.pause('q');
    await sleep(30);
    await producer.resume('q');
    await until(() => woken.length === 2, 'the resume');
  });

  it("does not wake on this connection's own writes (beyond the one local signal of a due enqueue)", async () => {
    const { worker, woken } = await pair();
    for (let i = 0; i < 5; i++) await worker.enqueue([job('q')]);
    expect(woken).toEqual(['q', 'q', 'q', 'q', 'q']);
    await worker.claim('q', 'me', 5, 60_000);
    await worker.enqueue([job('q', 60_000)]);
    await worker.pause('q');
    await worker.resume('q');
    // Many looks' worth of time: none of them may see a change.
    await sleep(200);
    expect(woken).toHaveLength(6); // the five enqueues and the resume, signalled locally
  });

  it('does not wake for writes that leave the pending counts as they were (heartbeats, completions)', async () => {
    const { producer, woken } = await pair();
    const [a] = await producer.enqueue([job('q')]);
    await until(() => woken.length === 1, 'the enqueue');
    await producer.claim('q', 'other', 1, 60_000);
    await until(() => woken.length === 2, 'the claim');
    await producer.heartbeat([a!.id], 'other', 60_000);
    await producer.complete([{ id: a!.id, workerId: 'other' }]);
    await sleep(200);
    expect(woken).toHaveLength(2);
  });

  it("sees a job another connection stores even when this connection's own claim left the pending count as it was", async () => {
    // One look every 200 ms: the claim and the new job land between the same two looks.
    const { worker, producer, woken } = await pair(200, 300);
    await producer.enqueue([job('q')]);
    await until(() => woken.length === 1, 'the first job');
    await worker.claim('q', 'me', 1, 60_000); // pending 1 → 0, by this connection: no version change
    await producer.enqueue([job('q')]); // pending 0 → 1
    await until(() => woken.length === 2, 'the second job');
    expect(woken).toEqual(['q', 'q']);
  });

  it('a delayed job stored by another connection wakes its queue when it falls due, not at once', async () => {
    const { producer, woken } = await pair();
    await producer.enqueue([job('q', 30_000)]);
    await until(() => woken.length === 1, 'the wake-up');
    const [w] = woken;
    expect(w).toMatchObject({ queue: 'q' });
    const inMs = (w as { inMs: number }).inMs;
    expect(inMs).toBeGreaterThan(25_000);
    expect(inMs).toBeLessThanOrEqual(30_000);
  });

  it('changePollMs: false turns the look off', async () => {
    const { producer, woken } = await pair(false);
    await producer.enqueue([job('q')]);
    await sleep(200);
    expect(woken).toEqual([]);
  });

  it('close() completes the wake-ups', async () => {
    const { worker } = await pair();
    let completed = false;
    worker.wakeups().subscribe({ complete: () => (completed = true) });
    await worker.close();
    expect(completed).toBe(true);
  });
});

describe('wakeupsOf', () => {
  const marks = (version: number, queues: Record<string, number | 'paused'>): QueueMarks => ({ version, queues: new Map(Object.entries(queues)), topId: 0 });
  const fresh = (queue: string, pending: number, due: number, soonestInMs: number | null = null) => ({ queue, pending, due, soonestInMs });

  it('wakes a queue with new due jobs, or whose pending count changed, or that was resumed; never a paused one', () => {
    const before = marks(1, { a: 0, b: 3, c: 'paused', d: 2, e: 1, f: 0 });
    const after = marks(2, { a: 1, b: 3, c: 2, d: 1, e: 'paused', f: 0 });
    expect(wakeupsOf(before, { marks: after, fresh: [fresh('a', 1, 1), fresh('e', 1, 1)] })).toEqual(['a', 'c', 'd']);
  });

  it('new jobs all due later: the soonest, unless something else changed the count too', () => {
    const before = marks(1, { a: 0, b: 0 });
    const after = marks(2, { a: 2, b: 3 });
    expect(wakeupsOf(before, { marks: after, fresh: [fresh('a', 2, 0, 1500), fresh('b', 2, 0, 700)] })).toEqual([{ queue: 'a', inMs: 1500 }, 'b']);
  });

  it('new due jobs wake their queue even when the count is back where it was (own claims meanwhile)', () => {
    expect(wakeupsOf(marks(1, { a: 1 }), { marks: marks(2, { a: 1 }), fresh: [fresh('a', 1, 1)] })).toEqual(['a']);
  });
});

describe('SqliteChangeWatch', () => {
  it('looks every everyMs while subscribed, and never after close()', async () => {
    let looks = 0;
    const marks: Changes = { marks: { version: 1, queues: new Map(), topId: 0 }, fresh: [] };
    const watch = new SqliteChangeWatch({
      tables: tableNames('sqlite', 'jobs_', null),
      everyMs: 1,
      run: async <T>() => (looks++, marks as T),
    });
    const sub = watch.wakeups.subscribe();
    await until(() => looks >= 5, 'five looks');
    await watch.close();
    const after = looks;
    await sleep(50);
    expect(looks).toBe(after);
    sub.unsubscribe();
  });

  it('slows down while no other process commits, up to 8 × everyMs, and speeds up at the next commit', async () => {
    const at: number[] = [];
    let version = 1;
    const watch = new SqliteChangeWatch({
      tables: tableNames('sqlite', 'jobs_', null),
      everyMs: 5,
      quietAfterMs: 100,
      run: async <T>() => (at.push(performance.now()), { marks: { version, queues: new Map([['q', version]]), topId: 0 }, fresh: [] } as T),
    });
    const woken: Wakeup[] = [];
    const sub = watch.wakeups.subscribe((q) => woken.push(q));
    const gaps = (from: number) => at.slice(from + 1).map((t, i) => t - at[from + i]!);
    // Quiet: after 100 ms the waits double (10, 20, 40) and stay at 40 (timers never fire early).
    await until(() => at.length >= 2 && performance.now() - at[0]! > 400, 'a quiet spell');
    const quiet = at.length;
    await until(() => at.length >= quiet + 3, 'three quiet looks');
    expect(Math.min(...gaps(quiet - 1).slice(0, 3))).toBeGreaterThanOrEqual(39);
    // Another process commits: the next look sees it, and the looks after it come every 5 ms again.
    version = 2;
    await until(() => woken.length === 1, 'the wake-up');
    const seen = at.length;
    await until(() => at.length >= seen + 3, 'three more looks');
    expect(Math.min(...gaps(seen - 1).slice(0, 3))).toBeLessThan(39);
    expect(woken).toEqual(['q']);
    sub.unsubscribe();
    await watch.close();
  });

  it('stops looking when the last subscriber leaves', async () => {
    let looks = 0;
    const watch = new SqliteChangeWatch({
      tables: tableNames('sqlite', 'jobs_', null),
      everyMs: 1,
      run: async <T>() => (looks++, null as T),
    });
    const sub = watch.wakeups.subscribe();
    await until(() => looks >= 3, 'three looks');
    sub.unsubscribe();
    await sleep(10);
    const after = looks;
    await sleep(50);
    expect(looks).toBe(after);
    await watch.close();
  });
});

describe('changePollMs validation', () => {
  const build = (extra: Record<string, unknown>) =>
    createStorage({ type: 'sqlite', database: ':memory:', ...extra } as StorageConfig, undefined, () => undefined);

  it.each([-1, 1.5, '5', null, true, 2 ** 31])('refuses %j, naming the option', async (value) => {
    const err = await build({ changePollMs: value }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidOptionsError);
    expect(String((err as Error).message)).toMatch(/storage\.changePollMs.*expected false \(off\) or a whole number of milliseconds/);
  });

  it.each([false, 0, 1, 250])('accepts %j', async (value) => {
    const storage = await build({ changePollMs: value });
    await storage.close();
  });

  it('is accepted beside a DataSource, and refused for a server database', async () => {
    const err = await createStorage({ type: 'postgres', changePollMs: 5 } as StorageConfig, undefined, () => undefined).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InvalidOptionsError);
    expect(String((err as Error).message)).toContain('changePollMs');
  });
});
