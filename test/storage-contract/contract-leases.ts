import { expect, it } from 'vitest';
import { error, h, newJob, s, T } from './contract-harness.js';

/** Contract cases of leases: heartbeats extend them, rescue takes expired ones back. */
export function leaseCases(): void {
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

  it('maxAttempts null (infinite retries) is never made dead by rescue', async () => {
    const [a] = await s.enqueue([newJob({ maxAttempts: null })]);
    await s.claim('q', 'w1', 1, T);
    await h.advance(T * 3);
    expect(await s.rescue()).toBe(1);
    expect(await s.get(a!.id)).toMatchObject({ state: 'available', maxAttempts: null });
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

  // A crash costs attempts only of jobs that started: a prefetched job (claimed into a
  // worker's buffer, no start recorded) whose lease expires never ran.
  it('rescue(): a prefetched job gets its attempt back and is never dead for it; a started one counts as before', async () => {
    const [a, b, c] = await s.enqueue([newJob({ maxAttempts: 1 }), newJob({ maxAttempts: 1 }), newJob({ maxAttempts: 3 })]);
    // a starts at once; b and c go to the worker's buffer.
    await s.claim('q', 'w1', 3, T, 1);
    await h.advance(T * 3);
    expect(await s.rescue()).toBe(3);
    expect(await s.get(a!.id)).toMatchObject({ state: 'dead', attempt: 1, lastError: { name: 'LeaseExpired' }, rescuedUnstarted: false });
    for (const id of [b!.id, c!.id]) {
      expect(await s.get(id)).toMatchObject({ state: 'available', attempt: 0, lastError: null, lockedBy: null, prefetched: false, rescuedUnstarted: true });
    }
    const [st] = (await s.stats()).filter((x) => x.queue === 'q');
    expect(st).toMatchObject({ available: 2, running: 0, dead: 1, died: { allTime: 1 } });
    // They run as their first attempt; the mark stays.
    const again = await s.claim('q', 'w2', 5, 30_000, 0);
    expect(again.map((j) => [j.id, j.attempt, j.prefetched, j.rescuedUnstarted])).toEqual([[b!.id, 1, true, true], [c!.id, 1, true, true]]);
  });

  it('heartbeat(…, started) records the start of prefetched jobs: their crash then counts', async () => {
    const [a, b] = await s.enqueue([newJob({ maxAttempts: 1 }), newJob({ maxAttempts: 1 })]);
    await s.claim('q', 'w1', 2, T, 0);
    // Another worker's report changes nothing.
    expect((await s.heartbeat([a!.id], 'w2', T, [a!.id])).lost).toEqual([a!.id]);
    expect(await s.get(a!.id)).toMatchObject({ prefetched: true });
    // a started from the buffer; b is still buffered.
    expect(await s.heartbeat([a!.id, b!.id], 'w1', T, [a!.id])).toEqual({ lost: [], cancelled: [] });
    expect(await s.get(a!.id)).toMatchObject({ state: 'running', prefetched: false });
    expect(await s.get(b!.id)).toMatchObject({ state: 'running', prefetched: true });
    await h.advance(T * 3);
    expect(await s.rescue()).toBe(2);
    expect(await s.get(a!.id)).toMatchObject({ state: 'dead', attempt: 1, rescuedUnstarted: false });
    expect(await s.get(b!.id)).toMatchObject({ state: 'available', attempt: 0, rescuedUnstarted: true });
  });

  it('release() gives the attempt back whether the job started or not; every way out of running clears prefetched', async () => {
    const [a, b, c, d] = await s.enqueue([newJob(), newJob(), newJob(), newJob()]);
    await s.claim('q', 'w1', 4, 30_000, 1);
    expect((await s.release([a!.id, b!.id], 'w1')).sort()).toEqual([a!.id, b!.id].sort());
    for (const id of [a!.id, b!.id]) expect(await s.get(id)).toMatchObject({ state: 'available', attempt: 0, prefetched: false, rescuedUnstarted: false });
    expect(await s.complete([{ id: c!.id, workerId: 'w1' }])).toEqual([c!.id]);
    expect(await s.get(c!.id)).toMatchObject({ state: 'completed', attempt: 1, prefetched: false });
    expect(await s.fail([{ id: d!.id, workerId: 'w1', error: error(), retryDelayMs: 0 }])).toEqual([d!.id]);
    expect(await s.get(d!.id)).toMatchObject({ state: 'retryable', attempt: 1, prefetched: false });
  });
}
