import { expect, it } from 'vitest';
import { error, newJob, s } from './contract-harness.js';

/** Contract cases of unique keys: duplicates, `uniqueWhile`, races, and when a job gives its key up or takes it back. */
export function uniqueKeyCases(): void {
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

  it("a 'queued' unique job that started gives its key up for good, even when it comes back to wait", async () => {
    const [a] = await s.enqueue([newJob({ uniqueKey: 'gone', uniqueWhile: 'queued' })]);
    await s.claim('q', 'w1', 1, 30_000);
    const error = { name: 'Error', message: 'x', attempt: 1, at: new Date().toISOString() };
    await s.fail([{ id: a!.id, workerId: 'w1', error, retryDelayMs: 60_000 }]);
    expect(await s.findByUniqueKey('gone')).toBeNull();
    const [b] = await s.enqueue([newJob({ uniqueKey: 'gone', uniqueWhile: 'queued' })]);
    expect(b!.duplicate).toBe(false);
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
}
