import { expect, it } from 'vitest';
import { error, h, newJob, s, T } from './contract-harness.js';

/** Contract cases of `oldestAvailable()`: the oldest due waiting job per queue, by its due time, on the storage's clock. */
export function oldestAvailableCases(): void {
  it('oldestAvailable(): the earliest due waiting job of each queue, whatever its priority; queues without one are left out', async () => {
    expect(await s.oldestAvailable([])).toEqual([]);
    const [first] = await s.enqueue([newJob({ priority: 5 })]);
    await h.advance(T);
    await s.enqueue([newJob({ priority: 0 }), newJob({ priority: -3 }), newJob({ queue: 'b' }), newJob({ queue: 'later', delayMs: 60_000 })]);
    const stored = await s.get(first!.id);
    const out = await s.oldestAvailable(['q', 'b', 'later', 'empty']);
    expect(out.map((o) => o.queue)).toEqual(['q', 'b']);
    expect(out[0]!.runAt.getTime()).toBe(stored!.runAt.getTime());
    // On the storage's clock: at least the time that passed since the first job was stored.
    expect(out[0]!.ageMs).toBeGreaterThanOrEqual(T - 5);
    expect(out[1]!.ageMs).toBeGreaterThanOrEqual(0);
    expect(out[1]!.ageMs).toBeLessThan(out[0]!.ageMs);
  });

  it('oldestAvailable(): running, dead and finished jobs are not waiting; a retry whose time has come is', async () => {
    const [a, b] = await s.enqueue([newJob({ maxAttempts: 1 }), newJob({ maxAttempts: 2 })]);
    await h.advance(T);
    const [c] = await s.enqueue([newJob()]);
    await s.claim('q', 'w1', 2, 30_000);
    expect((await s.oldestAvailable(['q']))[0]!.runAt.getTime()).toBe((await s.get(c!.id))!.runAt.getTime());
    await s.fail([{ id: a!.id, workerId: 'w1', error: error(), retryDelayMs: null }]);
    await s.fail([{ id: b!.id, workerId: 'w1', error: error(), retryDelayMs: 1 }]);
    await h.advance(T);
    const retried = (await s.get(b!.id))!;
    expect(retried.state).not.toBe('dead');
    // b's retry fell due after c was stored: c stays the oldest.
    expect((await s.oldestAvailable(['q']))[0]!.runAt.getTime()).toBe((await s.get(c!.id))!.runAt.getTime());
    await s.claim('q', 'w1', 1, 30_000);
    // c is running now; b's due retry is the oldest waiting job.
    expect((await s.get(c!.id))!.state).toBe('running');
    expect((await s.oldestAvailable(['q']))[0]!.runAt.getTime()).toBe(retried.runAt.getTime());
  });

  it('oldestAvailable(): right with more distinct priorities waiting than it probes one by one', async () => {
    const [oldest] = await s.enqueue([newJob({ priority: 40 })]);
    await h.advance(T);
    await s.enqueue(Array.from({ length: 30 }, (_, i) => newJob({ priority: i })));
    await s.enqueue([newJob({ priority: 41, delayMs: 60_000 })]);
    const [out] = await s.oldestAvailable(['q']);
    expect(out!.runAt.getTime()).toBe((await s.get(oldest!.id))!.runAt.getTime());
  });
}
