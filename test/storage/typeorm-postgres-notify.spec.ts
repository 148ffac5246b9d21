import { filter, firstValueFrom, take, timeout, toArray, type Observable } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Wakeup } from '../../lib/core/storage.js';
import type { ListenerEvent } from '../../lib/storage/typeorm/pg-listener.js';
import { TypeOrmStorage } from '../../lib/storage/typeorm/typeorm.storage.js';
import { newJob } from '../storage-contract/contract-harness.js';
import { databaseAvailable, freshPostgresSchema, PG_URL, sleep, withPg } from '../support/databases.js';

const WAIT_MS = 5000;

/** The next value of `source` that passes `pred` (subscribes now; await later). */
function next<T>(source: Observable<T>, pred: (v: T) => boolean = () => true): Promise<T> {
  return firstValueFrom(source.pipe(filter(pred), take(1), timeout(WAIT_MS)));
}

/** Every wake-up `s` receives from now on, until `stop()`. */
function recordWakeups(s: TypeOrmStorage): { woken: Wakeup[]; stop: () => void } {
  const woken: Wakeup[] = [];
  const sub = s.wakeups().subscribe((q) => woken.push(q));
  return { woken, stop: () => sub.unsubscribe() };
}

const listening = (s: TypeOrmStorage) =>
  next(s.listenerEvents(), (e): e is Extract<ListenerEvent, { type: 'listening' }> => e.type === 'listening').then(
    (e) => (e as Extract<ListenerEvent, { type: 'listening' }>).pid,
  );

if (await databaseAvailable('postgres')) {
  describe('PostgreSQL LISTEN/NOTIFY', () => {
    let drop: () => Promise<void>;
    let worker: TypeOrmStorage;
    let producer: TypeOrmStorage;

    beforeEach(async () => {
      const place = await freshPostgresSchema();
      drop = place.drop;
      const open = () => TypeOrmStorage.fromConfig({ type: 'postgres', url: PG_URL, schema: place.schema, poolSize: 2, listenHealthCheckMs: 200 });
      worker = await open();
      producer = await open();
      await worker.init();
      await producer.init();
    });
    afterEach(async () => {
      await Promise.all([worker.close(), producer.close()]);
      await drop();
    });

    it('wakes the listening instance with the queue name when another instance enqueues', async () => {
      const up = listening(worker);
      const wake = next(worker.wakeups(), (q) => q === 'mail');
      await up;
      await producer.enqueue([newJob({ queue: 'mail' })]);
      expect(await wake).toBe('mail');
    });

    it('a batch wakes each queue it fills with due jobs by its name alone, and none that only gets delayed jobs', async () => {
      const up = listening(worker);
      const { woken, stop } = recordWakeups(worker);
      await up;
      try {
        // The same options for every job (the one-array statement), then a mixed batch.
        await producer.enqueue(Array.from({ length: 3 }, () => newJob({ queue: 'later', delayMs: 60_000 })));
        const uniform = next(worker.wakeups(), (q) => q === 'bulk');
        await producer.enqueue(Array.from({ length: 3 }, (_, i) => newJob({ queue: 'bulk', payload: `{"i":${i}}` })));
        expect(await uniform).toBe('bulk');
        const mixed = next(worker.wakeups(), (q) => q === 'mixed-b');
        await producer.enqueue([newJob({ queue: 'mixed-a' }), newJob({ queue: 'mixed-b' }), newJob({ queue: 'later', delayMs: 60_000 })]);
        expect(await mixed).toBe('mixed-b');
        // Notifications arrive in commit order: once this one is here, every earlier one is.
        const marker = next(worker.wakeups(), (q) => q === 'marker');
        await producer.enqueue([newJob({ queue: 'marker' })]);
        await marker;
        expect(woken).not.toContain('later');
        expect(woken.filter((q) => typeof q !== 'string' && q.queue === 'later')).toHaveLength(2);
        expect(woken.filter((q) => q === 'bulk')).toEqual(['bulk']);
        expect(woken).toContain('mixed-a');
      } finally {
        stop();
      }
    });

    it('delayed jobs tell when they fall due: one <queue>@<ms> per queue and statement, for the soonest, within ten minutes', async () => {
      const up = listening(worker);
      const { woken, stop } = recordWakeups(worker);
      await up;
      const delayedOf = (queue: string) =>
        woken.filter((w): w is Exclude<Wakeup, string> => typeof w !== 'string' && w.queue === queue).map((w) => w.inMs);
      try {
        // One job (the scalar statement), a uniform batch, a mixed batch, a far one, a runAt.
        await producer.enqueue([newJob({ queue: 'one', delayMs: 2_000 })]);
        await producer.enqueue(Array.from({ length: 3 }, (_, i) => newJob({ queue: 'uni', delayMs: 5_000, payload: `{"i":${i}}` })));
        await producer.enqueue([
          newJob({ queue: 'mix', delayMs: 9_000 }),
          newJob({ queue: 'mix', delayMs: 3_000 }),
          newJob({ queue: 'mix' }),
          newJob({ queue: 'mix2', delayMs: 4_000, uniqueKey: 'k' }),
        ]);
        await producer.enqueue([newJob({ queue: 'far', delayMs: 11 * 60_000 }), newJob({ queue: 'far', delayMs: 20 * 60_000 })]);
        await producer.enqueue([newJob({ queue: 'far', runAt: new Date(Date.now() + 3_600_000) })]);
        const marker = next(worker.wakeups(), (q) => q === 'marker');
        await producer.enqueue([newJob({ queue: 'marker' })]);
        await marker;
        const within = (ms: number) => (got: number[]) => {
          expect(got).toHaveLength(1);
          // Measured from the statement's clock: a little less than the delay (the statement's
          // own time), never more.
          expect(got[0]).toBeGreaterThan(ms - 1_000);
          expect(got[0]).toBeLessThanOrEqual(ms);
        };
        within(2_000)(delayedOf('one'));
        within(5_000)(delayedOf('uni'));
        within(3_000)(delayedOf('mix'));
        within(4_000)(delayedOf('mix2'));
        expect(woken.filter((q) => q === 'mix')).toEqual(['mix']);
        expect(delayedOf('far')).toEqual([]);
        expect(woken).not.toContain('far');
      } finally {
        stop();
      }
    });

    it("a transactional enqueue notifies on the caller's commit, not before", async () => {
      const up = listening(worker);
      const { woken, stop } = recordWakeups(worker);
      await up;
      try {
        const wake = next(worker.wakeups(), (q) => q === 'tx');
        await producer.dataSource.transaction(async (manager) => {
          await producer.enqueue([newJob({ queue: 'tx' })], { manager });
          await sleep(100);
          expect(woken).toEqual([]);
        });
        expect(await wake).toBe('tx');
      } finally {
        stop();
      }
    });

    it("tells the worker at once when a running job's cancellation is requested", async () => {
      const up = listening(worker);
      const [r] = await producer.enqueue([newJob()]);
      await worker.claim('q', 'w1', 1, 30_000);
      const cancelled = next(worker.cancellations());
      await up;
      expect((await producer.cancel(r!.id))!.cancelRequested).toBe(true);
      expect(await cancelled).toBe(r!.id);
    });

    it('retry() and resume() wake the queue too', async () => {
      const up = listening(worker);
      const woken = firstValueFrom(worker.wakeups().pipe(filter((q) => q === 'r1' || q === 'r2'), take(2), toArray(), timeout(WAIT_MS)));
      await up;
      const [r] = await producer.enqueue([newJob({ queue: 'r1', maxAttempts: 1, runAt: new Date(Date.now() + 60_000) })]);
      await producer.cancel(r!.id);
      await producer.retry(r!.id);
      await producer.pause('r2');
      await producer.resume('r2');
      expect((await woken).sort()).toEqual(['r1', 'r2']);
    });

    it('reconnects after its connection is killed (pg_terminate_backend), then wakes again', async () => {
      const first = listening(worker);
      const wakeSub = worker.wakeups().subscribe();
      try {
        const pid = await first;
        expect(pid).toBeTypeOf('number');
        const lost = next(worker.listenerEvents(), (e) => e.type === 'lost');
        const again = listening(worker);
        await withPg((c) => c.query('SELECT pg_terminate_backend($1)', [pid]));
        await lost;
        const newPid = await again;
        expect(newPid).not.toBe(pid);
        const wake = next(worker.wakeups(), (q) => q === 'after');
        await producer.enqueue([newJob({ queue: 'after' })]);
        expect(await wake).toBe('after');
      } finally {
        wakeSub.unsubscribe();
      }
    });

    it('closes its LISTEN connection on close()', async () => {
      const pid = await (async () => {
        const up = listening(worker);
        worker.wakeups().subscribe();
        return up;
      })();
      await worker.close();
      // The server drops the backend right after the client's Terminate; allow it a moment.
      let alive = 1;
      for (let i = 0; i < 50 && alive; i++) {
        alive = (await withPg((c) => c.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid]))).rowCount ?? 0;
        if (alive) await sleep(20);
      }
      expect(alive).toBe(0);
    });
  });
}
