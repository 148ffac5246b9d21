import { expect, it } from 'vitest';
import { h, newJob, s, T } from './contract-harness.js';

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
}
