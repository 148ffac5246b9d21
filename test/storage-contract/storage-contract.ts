import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NewJob } from '../../lib/core/job-record.js';
import type { Storage } from '../../lib/core/storage.js';
import { describeMoreContractCases } from './storage-contract.more.js';

export interface ContractHarness {
  storage: Storage;
  /**
   * Lets `ms` of the storage's time pass: a fake clock moves; a database storage waits for
   * real (the cases keep these short).
   */
  advance(ms: number): Promise<void>;
  /** Drops the schema/database/file the harness made. */
  cleanup(): Promise<void>;
  /** The storage's `enqueueClaimed` stores jobs claimed (others store them waiting). */
  claimsOnEnqueue?: boolean;
}

/** Time unit of the cases: long enough that a real database's clock passes it reliably. */
const T = 60;

export function newJob(overrides: Partial<NewJob> = {}): NewJob {
  return { queue: 'q', name: 'job', payload: '{"n":1}', priority: 0, maxAttempts: 3, ...overrides };
}

/**
 * The conformance suite every storage passes (memory, SQLite, PostgreSQL, MariaDB).
 * `factory` returns a fresh, empty, initialised storage.
 */
export function describeStorageContract(name: string, factory: () => Promise<ContractHarness>): void {
  describe(`Storage contract: ${name}`, () => {
    let h: ContractHarness;
    let s: Storage;

    beforeEach(async () => {
      h = await factory();
      s = h.storage;
    });

    afterEach(async () => {
      await h.cleanup();
    });

    it('enqueues and returns ids in order; get() returns the stored job', async () => {
      const res = await s.enqueue([newJob({ payload: '{"a":1}' }), newJob({ payload: '{"a":2}', name: 'other' })]);
      expect(res).toHaveLength(2);
      expect(res.every((r) => r.duplicate === false)).toBe(true);
      expect(res[0]!.id).not.toBe(res[1]!.id);
      const job = await s.get(res[1]!.id);
      expect(job).toMatchObject({ id: res[1]!.id, name: 'other', queue: 'q', payload: { a: 2 }, state: 'available', attempt: 0, maxAttempts: 3 });
      expect(job!.runAt).toBeInstanceOf(Date);
      expect(await s.get('999999999')).toBeNull();
    });

    it('stores payloads exactly (unicode, nesting, large numbers within JSON)', async () => {
      const payload = { s: 'héllo ✓ \u0000 "quoted" \\ back', n: [1, 2.5, -3e10], deep: { a: { b: null, c: true } } };
      const [r] = await s.enqueue([newJob({ payload: JSON.stringify(payload) })]);
      expect((await s.get(r!.id))!.payload).toEqual(payload);
    });

    it('claims by priority, then runAt, then id; increments attempt and sets the lease', async () => {
      const [a] = await s.enqueue([newJob({ priority: 5 })]);
      const [b] = await s.enqueue([newJob({ priority: 1 })]);
      const [c] = await s.enqueue([newJob({ priority: 1 })]);
      const [d] = await s.enqueue([newJob({ priority: 0, runAt: new Date(Date.now() - 3_600_000) })]);
      const claimed = await s.claim('q', 'w1', 10, 30_000);
      expect(claimed.map((j) => j.id)).toEqual([d!.id, b!.id, c!.id, a!.id]);
      for (const j of claimed) {
        expect(j.state).toBe('running');
        expect(j.attempt).toBe(1);
        expect(j.lockedBy).toBe('w1');
        expect(j.lockedUntil!.getTime()).toBeGreaterThan(Date.now() - 5_000);
      }
    });

    it('a claimed job is returned exactly as it is stored, to the millisecond (times, lease, error, progress)', async () => {
      const [a] = await s.enqueue([newJob({ payload: '{"a":[1,"two"]}', priority: 2, backoff: { type: 'linear', ms: 7 }, timeoutMs: 900 })]);
      // A second attempt: a last error and the progress of the first.
      const [first] = await s.claim('q', 'w1', 1, 30_000);
      await s.progress(first!.id, 'w1', 40, '{"step":"x"}');
      await s.fail([{ id: a!.id, workerId: 'w1', error: { name: 'Error', message: 'boom "quoted"', attempt: 1, at: new Date().toISOString() }, retryDelayMs: 0 }]);
      await s.enqueue([newJob({ runAt: new Date(Date.now() - 12_345) })]);
      const claimed = await s.claim('q', 'w2', 10, 45_000);
      expect(claimed).toHaveLength(2);
      for (const j of claimed) {
        expect(j).toEqual(await s.get(j.id));
        expect(j.lockedUntil!.getTime() - j.startedAt!.getTime()).toBe(45_000);
      }
      expect(claimed.find((j) => j.id === a!.id)).toMatchObject({ attempt: 2, lastError: { message: 'boom "quoted"' }, progress: 40, progressData: { step: 'x' } });
    });

    it('claims at most `limit` jobs, only of the asked queue', async () => {
      await s.enqueue(Array.from({ length: 5 }, () => newJob()));
      await s.enqueue([newJob({ queue: 'other' })]);
      expect(await s.claim('q', 'w1', 3, 30_000)).toHaveLength(3);
      expect(await s.claim('q', 'w1', 3, 30_000)).toHaveLength(2);
      expect(await s.claim('q', 'w1', 3, 30_000)).toHaveLength(0);
      const other = await s.claim('other', 'w1', 3, 30_000);
      expect(other).toHaveLength(1);
      expect(other[0]!.queue).toBe('other');
    });

    it('does not claim delayed jobs before they are due', async () => {
      const [r] = await s.enqueue([newJob({ delayMs: T * 2 })]);
      expect((await s.get(r!.id))!.state).toBe('scheduled');
      expect(await s.claim('q', 'w1', 10, 30_000)).toHaveLength(0);
      await h.advance(T * 3);
      const claimed = await s.claim('q', 'w1', 10, 30_000);
      expect(claimed.map((j) => j.id)).toEqual([r!.id]);
    });

    it('honours an absolute runAt in the future', async () => {
      await s.enqueue([newJob({ runAt: new Date((await s.now()) + 3_600_000) })]);
      expect(await s.claim('q', 'w1', 10, 30_000)).toHaveLength(0);
      const [st] = (await s.stats()).filter((x) => x.queue === 'q');
      expect(st).toMatchObject({ available: 0, scheduled: 1 });
    });

    it('uniqueKey: a duplicate of a waiting or running job returns its id; after completion a new job is stored', async () => {
      const [first] = await s.enqueue([newJob({ uniqueKey: 'k1' })]);
      const [dup] = await s.enqueue([newJob({ uniqueKey: 'k1' })]);
      expect(dup).toEqual({ id: first!.id, duplicate: true });
      const [claimed] = await s.claim('q', 'w1', 1, 30_000);
      const [dupRunning] = await s.enqueue([newJob({ uniqueKey: 'k1' })]);
      expect(dupRunning).toEqual({ id: first!.id, duplicate: true });
      await s.complete([{ id: claimed!.id, workerId: 'w1' }]);
      const [again] = await s.enqueue([newJob({ uniqueKey: 'k1' })]);
      expect(again!.duplicate).toBe(false);
      expect(again!.id).not.toBe(first!.id);
    });

    it('uniqueKey inside one batch: the second is a duplicate of the first', async () => {
      const res = await s.enqueue([newJob({ uniqueKey: 'b' }), newJob({ uniqueKey: 'b' }), newJob({ uniqueKey: 'c' })]);
      expect(res[1]).toEqual({ id: res[0]!.id, duplicate: true });
      expect(res[2]!.duplicate).toBe(false);
    });

    it("uniqueWhile: 'queued' frees the key once the job runs; 'until-complete' keeps it while dead", async () => {
      const [q1] = await s.enqueue([newJob({ uniqueKey: 'uq', uniqueWhile: 'queued' })]);
      await s.claim('q', 'w1', 1, 30_000);
      const [q2] = await s.enqueue([newJob({ uniqueKey: 'uq', uniqueWhile: 'queued' })]);
      expect(q2!.duplicate).toBe(false);
      expect(q2!.id).not.toBe(q1!.id);

      const [u1] = await s.enqueue([newJob({ queue: 'u', uniqueKey: 'uc', uniqueWhile: 'until-complete', maxAttempts: 1 })]);
      await s.claim('u', 'w1', 1, 30_000);
      const error = { name: 'Error', message: 'x', attempt: 1, at: new Date().toISOString() };
      await s.fail([{ id: u1!.id, workerId: 'w1', error, retryDelayMs: null }]);
      expect(await s.enqueue([newJob({ queue: 'u', uniqueKey: 'uc', uniqueWhile: 'until-complete' })])).toEqual([{ id: u1!.id, duplicate: true }]);
      expect((await s.findByUniqueKey('uc'))!.id).toBe(u1!.id);
      // Default ('running'): a dead job frees the key.
      const [r1] = await s.enqueue([newJob({ queue: 'u', uniqueKey: 'ur', maxAttempts: 1 })]);
      await s.claim('u', 'w1', 1, 30_000);
      await s.fail([{ id: r1!.id, workerId: 'w1', error, retryDelayMs: null }]);
      expect(await s.findByUniqueKey('ur')).toBeNull();
      expect((await s.enqueue([newJob({ queue: 'u', uniqueKey: 'ur' })]))[0]!.duplicate).toBe(false);
    });

    it('release() with runAt reschedules the job for later without counting the attempt', async () => {
      const [a] = await s.enqueue([newJob({ uniqueKey: 'sched' })]);
      await s.claim('q', 'w1', 1, 30_000);
      const at = new Date((await s.now()) + T * 2);
      expect(await s.release([a!.id], 'w1', at)).toEqual([a!.id]);
      expect(await s.get(a!.id)).toMatchObject({ state: 'scheduled', attempt: 0, lockedBy: null });
      expect((await s.findByUniqueKey('sched'))!.id).toBe(a!.id);
      expect(await s.claim('q', 'w1', 1, 30_000)).toHaveLength(0);
      await h.advance(T * 3);
      expect(await s.claim('q', 'w1', 1, 30_000)).toHaveLength(1);
    });

    it('release() with a runAt already past makes the job available at that new runAt', async () => {
      // A schedule row snoozed to a next tick that went by while it fired: the next claim
      // must see the new tick, or it would fire the old one again.
      const [a] = await s.enqueue([newJob()]);
      const [claimed] = await s.claim('q', 'w1', 1, 30_000);
      await h.advance(T);
      const at = new Date((await s.now()) - 5);
      expect(at.getTime()).toBeGreaterThan(claimed!.runAt.getTime());
      expect(await s.release([a!.id], 'w1', at)).toEqual([a!.id]);
      expect(await s.get(a!.id)).toMatchObject({ state: 'available', attempt: 0, runAt: at });
      const [again] = await s.claim('q', 'w1', 1, 30_000);
      expect(again!.runAt.getTime()).toBe(at.getTime());
    });

    it('concurrent claims never hand one job to two workers', async () => {
      await s.enqueue(Array.from({ length: 200 }, (_, i) => newJob({ payload: String(i) })));
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, w) => (async () => {
          const got: string[] = [];
          for (;;) {
            const batch = await s.claim('q', `w${w}`, 7, 30_000);
            if (!batch.length) return got;
            got.push(...batch.map((j) => j.id));
          }
        })()),
      );
      const all = results.flat();
      expect(all).toHaveLength(200);
      expect(new Set(all).size).toBe(200);
    });

    it('complete() is guarded: only the holder completes; the result is stored', async () => {
      const [r] = await s.enqueue([newJob()]);
      await s.claim('q', 'w1', 1, 30_000);
      expect(await s.complete([{ id: r!.id, workerId: 'intruder' }])).toEqual([]);
      expect(await s.complete([{ id: r!.id, workerId: 'w1', result: '{"ok":true}' }])).toEqual([r!.id]);
      const job = await s.get(r!.id);
      expect(job).toMatchObject({ state: 'completed', result: { ok: true }, lockedBy: null });
      expect(job!.completedAt).toBeInstanceOf(Date);
      // A second completion (stale worker) changes nothing.
      expect(await s.complete([{ id: r!.id, workerId: 'w1' }])).toEqual([]);
    });

    it('complete() takes a batch', async () => {
      const res = await s.enqueue(Array.from({ length: 50 }, () => newJob()));
      const claimed = await s.claim('q', 'w1', 50, 30_000);
      const held = await s.complete(claimed.map((j) => ({ id: j.id, workerId: 'w1' })));
      expect(new Set(held)).toEqual(new Set(res.map((r) => r.id)));
      const [st] = (await s.stats()).filter((x) => x.queue === 'q');
      expect(st!.completed.allTime).toBe(50);
      expect(st!.completed.lastHour).toBe(50);
    });

    it('fail() with a delay makes the job retryable at a later runAt; null makes it dead with its error kept', async () => {
      const [a, b] = await s.enqueue([newJob(), newJob()]);
      await s.claim('q', 'w1', 2, 30_000);
      const error = { name: 'Error', message: 'boom', stack: 'Error: boom\n at x', attempt: 1, at: new Date().toISOString() };
      const held = await s.fail([
        { id: a!.id, workerId: 'w1', error, retryDelayMs: T * 2 },
        { id: b!.id, workerId: 'w1', error, retryDelayMs: null },
      ]);
      expect(new Set(held)).toEqual(new Set([a!.id, b!.id]));
      const ja = await s.get(a!.id);
      expect(ja).toMatchObject({ state: 'retryable', attempt: 1, lockedBy: null });
      expect(ja!.lastError).toMatchObject({ message: 'boom', stack: 'Error: boom\n at x' });
      const jb = await s.get(b!.id);
      expect(jb).toMatchObject({ state: 'dead', lastError: { message: 'boom' } });
      expect(await s.claim('q', 'w1', 10, 30_000)).toHaveLength(0);
      await h.advance(T * 3);
      const again = await s.claim('q', 'w2', 10, 30_000);
      expect(again.map((j) => j.id)).toEqual([a!.id]);
      expect(again[0]!.attempt).toBe(2);
      const [st] = (await s.stats()).filter((x) => x.queue === 'q');
      expect(st).toMatchObject({ dead: 1, running: 1 });
      expect(st!.died.allTime).toBe(1);
    });

    it('fail() with cancelled ends the job cancelled; guarded against other workers', async () => {
      const [a] = await s.enqueue([newJob()]);
      await s.claim('q', 'w1', 1, 30_000);
      const error = { name: 'JobCancelledError', message: 'cancelled', attempt: 1, at: new Date().toISOString() };
      expect(await s.fail([{ id: a!.id, workerId: 'w2', error, retryDelayMs: null, cancelled: true }])).toEqual([]);
      expect(await s.fail([{ id: a!.id, workerId: 'w1', error, retryDelayMs: null, cancelled: true }])).toEqual([a!.id]);
      expect((await s.get(a!.id))!.state).toBe('cancelled');
    });

    it('release() hands jobs back without counting the attempt', async () => {
      const [a] = await s.enqueue([newJob()]);
      await s.claim('q', 'w1', 1, 30_000);
      expect(await s.release([a!.id], 'w2')).toEqual([]);
      expect(await s.release([a!.id], 'w1')).toEqual([a!.id]);
      expect(await s.get(a!.id)).toMatchObject({ state: 'available', attempt: 0, lockedBy: null });
      const [again] = await s.claim('q', 'w2', 1, 30_000);
      expect(again!.attempt).toBe(1);
    });

    it('heartbeat() extends held leases and reports lost ones', async () => {
      const [a, b] = await s.enqueue([newJob(), newJob()]);
      await s.claim('q', 'w1', 2, T);
      const before = (await s.get(a!.id))!.lockedUntil!.getTime();
      const res = await s.heartbeat([a!.id, b!.id, '987654321'], 'w1', 60_000);
      expect(res.lost).toEqual(['987654321']);
      expect(res.cancelled).toEqual([]);
      expect((await s.get(a!.id))!.lockedUntil!.getTime()).toBeGreaterThan(before + 30_000);
      await h.advance(T * 2);
      expect(await s.rescue()).toBe(0);
      expect((await s.heartbeat([a!.id], 'w2', 60_000)).lost).toEqual([a!.id]);
    });

    it('rescue() returns expired leases to available, or dead when out of attempts; idempotent', async () => {
      const [a] = await s.enqueue([newJob({ maxAttempts: 3 })]);
      const [b] = await s.enqueue([newJob({ maxAttempts: 1 })]);
      const [c] = await s.enqueue([newJob({ maxAttempts: 1 })]);
      await s.claim('q', 'w1', 2, T);
      await s.claim('q', 'w2', 1, 60_000);
      expect(await s.rescue()).toBe(0);
      await h.advance(T * 3);
      expect(await s.rescue()).toBe(2);
      expect(await s.rescue()).toBe(0);
      expect(await s.get(a!.id)).toMatchObject({ state: 'available', attempt: 1, lockedBy: null });
      expect(await s.get(b!.id)).toMatchObject({ state: 'dead' });
      expect((await s.get(b!.id))!.lastError).not.toBeNull();
      expect(await s.get(c!.id)).toMatchObject({ state: 'running', lockedBy: 'w2' });
      // The stale worker can no longer complete the rescued job.
      expect(await s.complete([{ id: a!.id, workerId: 'w1' }])).toEqual([]);
    });

    it('rescue() ends a job whose cancellation was requested as cancelled, not available', async () => {
      const [a] = await s.enqueue([newJob()]);
      await s.claim('q', 'w1', 1, T);
      await s.cancel(a!.id);
      await h.advance(T * 3);
      expect(await s.rescue()).toBe(1);
      expect(await s.get(a!.id)).toMatchObject({ state: 'cancelled', lockedBy: null });
      expect(await s.claim('q', 'w2', 1, 30_000)).toHaveLength(0);
    });

    it("a 'queued' unique job that started gives its key up for good, even when it comes back to wait", async () => {
      const [a] = await s.enqueue([newJob({ uniqueKey: 'gone', uniqueWhile: 'queued' })]);
      await s.claim('q', 'w1', 1, 30_000);
      const error = { name: 'Error', message: 'x', attempt: 1, at: new Date().toISOString() };
      await s.fail([{ id: a!.id, workerId: 'w1', error, retryDelayMs: 60_000 }]);
      expect(await s.findByUniqueKey('gone')).toBeNull();
      const [b] = await s.enqueue([newJob({ uniqueKey: 'gone', uniqueWhile: 'queued' })]);
      expect(b!.duplicate).toBe(false);
    });

    it('maxAttempts null (infinite retries) is never made dead by rescue', async () => {
      const [a] = await s.enqueue([newJob({ maxAttempts: null })]);
      await s.claim('q', 'w1', 1, T);
      await h.advance(T * 3);
      expect(await s.rescue()).toBe(1);
      expect(await s.get(a!.id)).toMatchObject({ state: 'available', maxAttempts: null });
    });

    it('cancel(): a waiting job is cancelled at once and never claimed; a running one gets cancelRequested', async () => {
      const [a, b] = await s.enqueue([newJob(), newJob({ delayMs: 60_000 })]);
      expect((await s.cancel(b!.id))!.state).toBe('cancelled');
      const [claimed] = await s.claim('q', 'w1', 5, 30_000);
      expect(claimed!.id).toBe(a!.id);
      const running = await s.cancel(a!.id);
      expect(running).toMatchObject({ state: 'running', cancelRequested: true });
      expect((await s.heartbeat([a!.id], 'w1', 30_000)).cancelled).toEqual([a!.id]);
      expect(await s.cancel('987654321')).toBeNull();
    });

    it('retry(): a dead job goes back to available with fresh attempts', async () => {
      const [a] = await s.enqueue([newJob({ maxAttempts: 1 })]);
      await s.claim('q', 'w1', 1, 30_000);
      const error = { name: 'Error', message: 'x', attempt: 1, at: new Date().toISOString() };
      await s.fail([{ id: a!.id, workerId: 'w1', error, retryDelayMs: null }]);
      const job = await s.retry(a!.id);
      expect(job).toMatchObject({ state: 'available', attempt: 0 });
      expect(await s.claim('q', 'w1', 1, 30_000)).toHaveLength(1);
      expect(await s.retry('987654321')).toBeNull();
    });

    it('pause() stops claims from that queue only; resume() restores them', async () => {
      await s.enqueue([newJob(), newJob({ queue: 'other' })]);
      await s.pause('q');
      expect(await s.pausedQueues()).toEqual(['q']);
      expect(await s.claim('q', 'w1', 5, 30_000)).toHaveLength(0);
      expect(await s.claim('other', 'w1', 5, 30_000)).toHaveLength(1);
      expect((await s.stats()).find((x) => x.queue === 'q')!.paused).toBe(true);
      await s.resume('q');
      expect(await s.pausedQueues()).toEqual([]);
      expect(await s.claim('q', 'w1', 5, 30_000)).toHaveLength(1);
    });

    it('stats() counts per queue', async () => {
      await s.enqueue([newJob(), newJob(), newJob({ delayMs: 60_000 }), newJob({ queue: 'b' })]);
      await s.claim('q', 'w1', 1, 30_000);
      const stats = await s.stats();
      expect(stats.find((x) => x.queue === 'q')).toMatchObject({ available: 1, scheduled: 1, running: 1, dead: 0, paused: false });
      expect(stats.find((x) => x.queue === 'b')).toMatchObject({ available: 1, running: 0 });
    });

    it('list() pages newest first with a keyset cursor and filters', async () => {
      const ids = (await s.enqueue(Array.from({ length: 5 }, (_, i) => newJob({ name: i % 2 ? 'odd' : 'even' })))).map((r) => r.id);
      const p1 = await s.list({ queue: 'q', limit: 2 });
      expect(p1.jobs.map((j) => j.id)).toEqual([ids[4], ids[3]]);
      const p2 = await s.list({ queue: 'q', limit: 2, cursor: p1.nextCursor });
      expect(p2.jobs.map((j) => j.id)).toEqual([ids[2], ids[1]]);
      const p3 = await s.list({ queue: 'q', limit: 2, cursor: p2.nextCursor });
      expect(p3.jobs.map((j) => j.id)).toEqual([ids[0]]);
      expect(p3.nextCursor).toBeNull();
      expect((await s.list({ name: 'odd' })).jobs).toHaveLength(2);
      expect((await s.list({ state: 'running' })).jobs).toHaveLength(0);
    });

    it('prune() deletes finished jobs older than the cut-off and keeps the roll-up counts', async () => {
      const [a, b] = await s.enqueue([newJob(), newJob()]);
      await s.claim('q', 'w1', 2, 30_000);
      await s.complete([{ id: a!.id, workerId: 'w1' }]);
      await h.advance(T);
      const cut = new Date((await s.now()) + 1);
      const removed = await s.prune({ olderThan: cut, states: ['completed'] });
      expect(removed).toBe(1);
      expect(await s.get(a!.id)).toBeNull();
      expect(await s.get(b!.id)).not.toBeNull();
      const st = (await s.stats()).find((x) => x.queue === 'q')!;
      expect(st.completed.allTime).toBe(1);
    });

    it('progress() stores percent and data for the holder only', async () => {
      const [a] = await s.enqueue([newJob()]);
      await s.claim('q', 'w1', 1, 30_000);
      await s.progress(a!.id, 'w2', 90, null);
      expect((await s.get(a!.id))!.progress).toBeNull();
      await s.progress(a!.id, 'w1', 40, '{"step":"b"}');
      expect(await s.get(a!.id)).toMatchObject({ progress: 40, progressData: { step: 'b' } });
    });

    it('keeps per-job backoff and timeout overrides', async () => {
      const [a] = await s.enqueue([newJob({ backoff: { type: 'fixed', ms: 1234 }, timeoutMs: 999 })]);
      expect(await s.get(a!.id)).toMatchObject({ backoff: { type: 'fixed', ms: 1234 }, timeoutMs: 999 });
    });

    it('now() is the storage clock, close to real time', async () => {
      expect(Math.abs((await s.now()) - Date.now())).toBeLessThan(5 * 60_000);
    });
  });

  describeMoreContractCases(name, factory);
}
