import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobErrorInfo } from '../../lib/core/job-record.js';
import { completedBy, failedWith } from '../../lib/core/outcome-landed.js';
import type { Storage } from '../../lib/core/storage.js';
import type { ContractHarness } from './storage-contract.js';
import { newJob } from './storage-contract.js';

const T = 60;
const numeric = (a: string, b: string) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
const error = (message = 'x'): JobErrorInfo => ({ name: 'Error', message, attempt: 1, at: new Date().toISOString() });

/**
 * More conformance cases: batches past one statement's size, races on unique keys, edge
 * ids, and exactness of stored text. Registered by `describeStorageContract`.
 */
export function describeMoreContractCases(name: string, factory: () => Promise<ContractHarness>): void {
  describe(`Storage contract (more): ${name}`, () => {
    let h: ContractHarness;
    let s: Storage;

    beforeEach(async () => {
      h = await factory();
      s = h.storage;
    });

    afterEach(async () => {
      await h.cleanup();
    });

    it('enqueue: a batch larger than one statement keeps input order, keys and duplicates', async () => {
      const [held] = await s.enqueue([newJob({ uniqueKey: 'held' })]);
      const jobs = Array.from({ length: 6000 }, (_, i) =>
        newJob({ payload: `{"i":${i}}`, uniqueKey: i === 5999 ? 'held' : i % 1000 === 1 ? `k${i}` : i === 4500 ? 'k1001' : null }),
      );
      const res = await s.enqueue(jobs);
      expect(res).toHaveLength(6000);
      expect(res[5999]).toEqual({ id: held!.id, duplicate: true });
      expect(res[4500]).toEqual({ id: res[1001]!.id, duplicate: true });
      const stored = res.filter((r) => !r.duplicate).map((r) => r.id);
      expect(stored).toHaveLength(5998);
      expect([...stored].sort(numeric)).toEqual(stored);
      expect((await s.get(res[3001]!.id))!.payload).toEqual({ i: 3001 });
      expect((await s.findByUniqueKey('k2001'))!.id).toBe(res[2001]!.id);
      const [st] = (await s.stats()).filter((x) => x.queue === 'q');
      expect(st!.available).toBe(5999);
    });

    it('enqueue: 1,000 jobs without keys keep input order and every payload exactly, and count once', async () => {
      const odd = ['"quoted" \\ back\\slash \\" \\\\', 'héllo ✓ 😀 \u0000 \n \t ﻿', "it's {not} [json] ,\"", ''];
      const payloads: unknown[] = Array.from({ length: 1000 }, (_, i) => ({ i, s: odd[i % odd.length] }));
      payloads[1] = null;
      payloads[2] = 'a JSON string with "quotes" and \\ and ✓';
      payloads[3] = [1, 'two', { three: [3] }];
      payloads[4] = -12.5e-7;
      payloads[5] = true;
      const res = await s.enqueue(payloads.map((p) => newJob({ payload: JSON.stringify(p) })));
      expect(res).toHaveLength(1000);
      expect(res.every((r) => !r.duplicate)).toBe(true);
      const ids = res.map((r) => r.id);
      expect([...ids].sort(numeric)).toEqual(ids);
      expect(new Set(ids).size).toBe(1000);
      for (const i of [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 998, 999]) expect((await s.get(ids[i]!))!.payload).toEqual(payloads[i]);
      const claimed = await s.claim('q', 'w1', 1000, 30_000);
      expect(claimed.map((j) => j.id)).toEqual(ids);
      expect(claimed.map((j) => j.payload)).toEqual(payloads);
      const [st] = (await s.stats()).filter((x) => x.queue === 'q');
      expect(st).toMatchObject({ running: 1000, available: 0 });
    });

    it('enqueue: a batch with the same options stores them on every job; delayed, it waits and counts as scheduled', async () => {
      const options = { priority: 3, maxAttempts: 2, delayMs: 60_000, backoff: { type: 'fixed' as const, ms: 5 }, timeoutMs: 1234 };
      const res = await s.enqueue(Array.from({ length: 5 }, (_, i) => newJob({ payload: `{"i":${i}}`, ...options })));
      const ids = res.map((r) => r.id);
      expect([...ids].sort(numeric)).toEqual(ids);
      const before = Date.now();
      for (const [i, id] of ids.entries()) {
        const job = (await s.get(id))!;
        expect(job).toMatchObject({ queue: 'q', name: 'job', payload: { i }, state: 'scheduled', priority: 3, maxAttempts: 2, backoff: options.backoff, timeoutMs: 1234 });
        expect(job.runAt.getTime()).toBeGreaterThan(before + 50_000);
      }
      expect(await s.claim('q', 'w1', 10, 30_000)).toEqual([]);
      const at = new Date(Date.now() + 3_600_000);
      await s.enqueue([newJob({ queue: 'q2', runAt: at }), newJob({ queue: 'q2', runAt: at })]);
      const past = new Date(Date.now() - 1000);
      const due = await s.enqueue([newJob({ queue: 'q3', runAt: past }), newJob({ queue: 'q3', runAt: past })]);
      expect((await s.get(due[1]!.id))!.runAt.getTime()).toBe(past.getTime());
      const stats = await s.stats();
      expect(stats.find((x) => x.queue === 'q')).toMatchObject({ scheduled: 5, available: 0 });
      expect(stats.find((x) => x.queue === 'q2')).toMatchObject({ scheduled: 2, available: 0 });
      expect(stats.find((x) => x.queue === 'q3')).toMatchObject({ scheduled: 0, available: 2 });
      expect((await s.claim('q3', 'w1', 10, 30_000)).map((j) => j.id)).toEqual(due.map((r) => r.id));
    });

    it('enqueue: a batch whose jobs differ in queue, name or options stores each as given', async () => {
      const res = await s.enqueue([
        newJob({ payload: '{"n":0}' }),
        newJob({ payload: '{"n":1}', queue: 'other' }),
        newJob({ payload: '{"n":2}', name: 'second' }),
        newJob({ payload: '{"n":3}', priority: 7 }),
        newJob({ payload: '{"n":4}', delayMs: 60_000 }),
      ]);
      const jobs = await Promise.all(res.map((r) => s.get(r.id)));
      expect(jobs.map((j) => [j!.queue, j!.name, j!.priority, j!.state, j!.payload])).toEqual([
        ['q', 'job', 0, 'available', { n: 0 }],
        ['other', 'job', 0, 'available', { n: 1 }],
        ['q', 'second', 0, 'available', { n: 2 }],
        ['q', 'job', 7, 'available', { n: 3 }],
        ['q', 'job', 0, 'scheduled', { n: 4 }],
      ]);
      const stats = await s.stats();
      expect(stats.find((x) => x.queue === 'q')).toMatchObject({ available: 3, scheduled: 1 });
      expect(stats.find((x) => x.queue === 'other')).toMatchObject({ available: 1, scheduled: 0 });
    });

    it('enqueue of one job stores payloads that are null, a JSON string or escapes exactly', async () => {
      for (const payload of [null, 'a "string" \\ ✓', { s: '\u0000 \\" 😀' }, [], 0]) {
        const [r] = await s.enqueue([newJob({ payload: JSON.stringify(payload) })]);
        expect((await s.get(r!.id))!.payload).toEqual(payload);
      }
      const [st] = (await s.stats()).filter((x) => x.queue === 'q');
      expect(st!.available).toBe(5);
    });

    it('enqueue: a batch mixing keyless jobs and keys (held, new, repeated) keeps order and counts', async () => {
      const [held] = await s.enqueue([newJob({ uniqueKey: 'held' })]);
      const res = await s.enqueue([
        newJob({ payload: '{"n":0}' }),
        newJob({ uniqueKey: 'held' }),
        newJob({ payload: '{"n":2}', uniqueKey: 'new' }),
        newJob({ payload: '{"n":3}' }),
        newJob({ uniqueKey: 'new' }),
      ]);
      expect(res[1]).toEqual({ id: held!.id, duplicate: true });
      expect(res[4]).toEqual({ id: res[2]!.id, duplicate: true });
      const stored = [res[0]!.id, res[2]!.id, res[3]!.id];
      expect([...stored].sort(numeric)).toEqual(stored);
      expect((await s.get(res[3]!.id))!.payload).toEqual({ n: 3 });
      const [st] = (await s.stats()).filter((x) => x.queue === 'q');
      expect(st!.available).toBe(4);
    });

    it('complete() and fail() take batches larger than one statement', async () => {
      await s.enqueue(Array.from({ length: 1300 }, () => newJob()));
      const claimed = await s.claim('q', 'w1', 1300, 30_000);
      expect(claimed).toHaveLength(1300);
      const done = await s.complete(claimed.slice(0, 1200).map((j) => ({ id: j.id, workerId: 'w1' })));
      expect(done).toHaveLength(1200);
      const failed = await s.fail(claimed.slice(1200).map((j) => ({ id: j.id, workerId: 'w1', error: error(), retryDelayMs: null })));
      expect(failed).toHaveLength(100);
      const [st] = (await s.stats()).filter((x) => x.queue === 'q');
      expect(st).toMatchObject({ running: 0, dead: 100 });
      expect(st!.completed.allTime).toBe(1200);
      expect(st!.died.today).toBe(100);
    });

    it('complete() of a batch from several workers completes each job only for its holder', async () => {
      await s.enqueue([newJob(), newJob(), newJob()]);
      const [a] = await s.claim('q', 'w1', 1, 30_000);
      const [b, c] = await s.claim('q', 'w2', 2, 30_000);
      const done = await s.complete([
        { id: a!.id, workerId: 'w1', result: '1' },
        { id: b!.id, workerId: 'w2', result: '2' },
        { id: c!.id, workerId: 'w1', result: '3' },
      ]);
      expect(done.sort()).toEqual([a!.id, b!.id].sort());
      expect(await s.get(a!.id)).toMatchObject({ state: 'completed', result: 1 });
      expect(await s.get(b!.id)).toMatchObject({ state: 'completed', result: 2 });
      expect(await s.get(c!.id)).toMatchObject({ state: 'running', lockedBy: 'w2', result: null });
      const [st] = (await s.stats()).filter((x) => x.queue === 'q');
      expect(st).toMatchObject({ running: 1, completed: { allTime: 2 } });
    });

    it('concurrent enqueues of one unique key store exactly one job', async () => {
      const results = (await Promise.all(Array.from({ length: 10 }, () => s.enqueue([newJob({ uniqueKey: 'race' })])))).flat();
      expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
      expect(new Set(results.map((r) => r.id)).size).toBe(1);
      expect(await s.claim('q', 'w1', 10, 30_000)).toHaveLength(1);
    });

    it('retry() gives a finished job its unique key back when no other job holds it', async () => {
      const [a] = await s.enqueue([newJob({ uniqueKey: 'rk', maxAttempts: 1 })]);
      await s.claim('q', 'w1', 1, 30_000);
      await s.fail([{ id: a!.id, workerId: 'w1', error: error(), retryDelayMs: null }]);
      expect(await s.findByUniqueKey('rk')).toBeNull();
      await s.retry(a!.id);
      expect((await s.findByUniqueKey('rk'))!.id).toBe(a!.id);
      expect(await s.enqueue([newJob({ uniqueKey: 'rk' })])).toEqual([{ id: a!.id, duplicate: true }]);
    });

    // (A rescued job whose cancellation was requested should end cancelled: the TypeORM
    // storages do, the memory storage clears the flag first; see test/storage.)
    it('rescue(): out of attempts is dead with a LeaseExpired error and counts as died', async () => {
      const [a, b] = await s.enqueue([newJob(), newJob({ maxAttempts: 1 })]);
      await s.claim('q', 'w1', 2, T);
      await h.advance(T * 3);
      expect(await s.rescue()).toBe(2);
      expect(await s.get(a!.id)).toMatchObject({ state: 'available', lockedBy: null });
      expect((await s.get(b!.id))!.lastError).toMatchObject({ name: 'LeaseExpired', attempt: 1 });
      const [st] = (await s.stats()).filter((x) => x.queue === 'q');
      expect(st).toMatchObject({ dead: 1, running: 0 });
      expect(st!.died).toMatchObject({ lastHour: 1, allTime: 1 });
    });

    it('prune() removes only finished jobs in the given states, whatever else it is asked', async () => {
      const [a, b, c, d] = await s.enqueue([newJob(), newJob({ maxAttempts: 1 }), newJob(), newJob()]);
      await s.claim('q', 'w1', 3, 30_000);
      await s.complete([{ id: a!.id, workerId: 'w1' }]);
      await s.fail([{ id: b!.id, workerId: 'w1', error: error(), retryDelayMs: null }]);
      await s.cancel(d!.id);
      await h.advance(T);
      const cut = new Date((await s.now()) + 1);
      expect(await s.prune({ olderThan: cut, states: ['dead', 'running', 'available', 'cancelled'], batchSize: 1 })).toBe(2);
      expect(await s.get(b!.id)).toBeNull();
      expect(await s.get(d!.id)).toBeNull();
      expect(await s.get(a!.id)).toMatchObject({ state: 'completed' });
      expect(await s.get(c!.id)).toMatchObject({ state: 'running' });
      expect(await s.prune({ olderThan: new Date((await s.now()) - 3_600_000), states: ['completed'] })).toBe(0);
    });

    it('stores results, errors and progress data exactly (unicode, quotes, escapes)', async () => {
      const text = 'héllo ✓ 😀 "q" \\ \u0000 \n ﻿';
      const [a, b] = await s.enqueue([newJob(), newJob()]);
      await s.claim('q', 'w1', 2, 30_000);
      await s.progress(a!.id, 'w1', 12.5, JSON.stringify({ text }));
      expect(await s.get(a!.id)).toMatchObject({ progress: 12.5, progressData: { text } });
      await s.progress(a!.id, 'w1', 20);
      expect(await s.get(a!.id)).toMatchObject({ progress: 20, progressData: { text } });
      await s.complete([{ id: a!.id, workerId: 'w1', result: JSON.stringify({ text, n: [1.5, -2e20] }) }]);
      expect((await s.get(a!.id))!.result).toEqual({ text, n: [1.5, -2e20] });
      await s.fail([{ id: b!.id, workerId: 'w1', error: { ...error(text), stack: `Error: ${text}\n  at x` }, retryDelayMs: 1000 }]);
      expect((await s.get(b!.id))!.lastError).toMatchObject({ message: text, stack: `Error: ${text}\n  at x` });
    });

    it('unknown or malformed ids are simply not found, held or listed', async () => {
      for (const id of ['abc', '-1', '0', '1.5', '99999999999999999999999', "1' OR '1'='1"]) {
        expect(await s.get(id)).toBeNull();
        expect(await s.cancel(id)).toBeNull();
        expect(await s.retry(id)).toBeNull();
        expect(await s.complete([{ id, workerId: 'w1' }])).toEqual([]);
        expect(await s.release([id], 'w1')).toEqual([]);
        expect((await s.heartbeat([id], 'w1', 1000)).lost).toEqual([id]);
      }
      await expect(s.list({ cursor: 'not-a-cursor' })).rejects.toThrow(/cursor/);
    });

    it('pause() and resume() are idempotent', async () => {
      await s.enqueue([newJob()]);
      await s.pause('q');
      await s.pause('q');
      expect(await s.pausedQueues()).toEqual(['q']);
      await s.resume('q');
      await s.resume('q');
      await s.resume('never-paused');
      expect(await s.pausedQueues()).toEqual([]);
      expect(await s.claim('q', 'w1', 5, 30_000)).toHaveLength(1);
    });

    // enqueueClaimed (the local hand-off): storages that store the job claimed (`claimsOnEnqueue`)
    // and those that store it waiting must both leave a consistent job and counts.
    it('enqueueClaimed stores the job claimed by the worker (running, attempt 1, leased, counted), or waiting where the storage cannot', async () => {
      const out = await s.enqueueClaimed!(newJob({ payload: '{"x":"é"}' }), 'w1', 10_000);
      expect(out.result.duplicate).toBe(false);
      const [st] = (await s.stats()).filter((x) => x.queue === 'q');
      if (!h.claimsOnEnqueue) {
        expect(out.claimed).toBeNull();
        expect(await s.get(out.result.id)).toMatchObject({ state: 'available', attempt: 0 });
        expect(st).toMatchObject({ available: 1, running: 0 });
        return;
      }
      expect(out.claimed).toMatchObject({ id: out.result.id, queue: 'q', name: 'job', payload: { x: 'é' }, state: 'running', attempt: 1, lockedBy: 'w1' });
      expect(out.claimed!.lockedUntil!.getTime()).toBeGreaterThan((await s.now()) + 5_000);
      expect(await s.get(out.result.id)).toMatchObject({ state: 'running', attempt: 1, lockedBy: 'w1' });
      expect(st).toMatchObject({ available: 0, running: 1 });
      // Not claimable again; the holder completes it as any claimed job.
      expect(await s.claim('q', 'w2', 10, 10_000)).toEqual([]);
      expect(await s.complete([{ id: out.result.id, workerId: 'w1', result: '7' }])).toEqual([out.result.id]);
      expect(await s.get(out.result.id)).toMatchObject({ state: 'completed', result: 7 });
      const [after] = (await s.stats()).filter((x) => x.queue === 'q');
      expect(after).toMatchObject({ available: 0, running: 0, completed: { allTime: 1 } });
    });

    it('enqueueClaimed on a paused queue stores the job waiting; it is claimed after resume', async () => {
      await s.pause('q');
      const out = await s.enqueueClaimed!(newJob(), 'w1', 10_000);
      expect(out.claimed).toBeNull();
      expect(await s.get(out.result.id)).toMatchObject({ state: 'available', attempt: 0, lockedBy: null });
      await s.resume('q');
      expect((await s.claim('q', 'w2', 10, 10_000)).map((j) => j.id)).toEqual([out.result.id]);
    });

    it('a job stored claimed whose worker died is rescued when its lease expires', async () => {
      const out = await s.enqueueClaimed!(newJob(), 'w1', T);
      if (!h.claimsOnEnqueue) {
        expect(out.claimed).toBeNull();
        return;
      }
      expect(await s.rescue()).toBe(0);
      await h.advance(T * 2);
      expect(await s.rescue()).toBe(1);
      expect(await s.get(out.result.id)).toMatchObject({ state: 'available', attempt: 1, lockedBy: null });
      expect(await s.complete([{ id: out.result.id, workerId: 'w1' }])).toEqual([]);
    });
    it("a job's row shows which attempt completed it and the failure as written (read back when a retried outcome write finds the job gone)", async () => {
      const [a, b, c] = await s.enqueue([newJob(), newJob(), newJob()]);
      await s.claim('q', 'w1', 3, 10_000);
      expect(await s.complete([{ id: a!.id, workerId: 'w1', result: '1' }])).toEqual([a!.id]);
      const failure: JobErrorInfo = { name: 'TypeError', message: 'bad ✓ "input"', stack: 'TypeError: bad', attempt: 1, at: '2026-01-02T03:04:05.678Z' };
      expect(await s.fail([
        { id: b!.id, workerId: 'w1', error: failure, retryDelayMs: 60_000 },
        { id: c!.id, workerId: 'w1', error: { ...failure, name: 'JobCancelledError' }, retryDelayMs: null, cancelled: true },
      ])).toEqual([b!.id, c!.id]);
      // The retry of the same writes: nothing held any more.
      expect(await s.complete([{ id: a!.id, workerId: 'w1', result: '1' }])).toEqual([]);
      expect(await s.fail([{ id: b!.id, workerId: 'w1', error: failure, retryDelayMs: 60_000 }])).toEqual([]);
      expect(completedBy(await s.get(a!.id), 1)).toBe(true);
      expect(completedBy(await s.get(a!.id), 2)).toBe(false);
      expect(failedWith(await s.get(b!.id), failure)).toBe(true);
      expect(failedWith(await s.get(c!.id), { ...failure, name: 'JobCancelledError' })).toBe(true);
      expect(failedWith(await s.get(b!.id), { ...failure, at: '2026-01-02T03:04:05.679Z' })).toBe(false);
    });
  });
}
