import { expect, it } from 'vitest';
import type { NewBatch } from '../../lib/core/job-record.js';
import { error, newJob, s } from './contract-harness.js';

const callbacks = (): NewBatch['callbacks'] => ({
  complete: newJob({ name: 'on-complete', queue: 'cb', payload: 'null' }),
  success: newJob({ name: 'on-success', queue: 'cb', payload: 'null' }),
  failure: newJob({ name: 'on-failure', queue: 'cb', payload: 'null' }),
});

/** The callback jobs stored so far, claimed (so each is seen once) and sorted by name. */
async function callbacksStored(): Promise<Array<{ name: string; payload: unknown }>> {
  const jobs = await s.claim('cb', 'cbw', 100, 30_000);
  return jobs.map((j) => ({ name: j.name, payload: j.payload })).sort((a, b) => a.name.localeCompare(b.name));
}

/** Contract cases of batches: counts kept by the finishing transitions, callbacks stored exactly once. */
export function batchCases(): void {
  it('enqueueBatch() stores the jobs; completing all stores onComplete and onSuccess once, with the counts', async () => {
    const { batchId, ids } = await s.enqueueBatch!([newJob(), newJob(), newJob()], { payload: '{"report":7}', callbacks: callbacks() });
    expect(ids).toHaveLength(3);
    expect((await s.get(ids[0]!))!.batchId).toBe(batchId);
    expect((await s.list({ batchId })).jobs.map((j) => j.id)).toEqual([...ids].reverse());
    const claimed = await s.claim('q', 'w1', 3, 30_000);
    await s.complete(claimed.slice(0, 2).map((j) => ({ id: j.id, workerId: 'w1' })));
    expect(await callbacksStored()).toEqual([]);
    expect(await s.getBatch!(batchId)).toMatchObject({ counts: { total: 3, completed: 2, dead: 0, cancelled: 0 }, states: { completed: 2, running: 1 }, payload: { report: 7 } });
    await s.complete([{ id: claimed[2]!.id, workerId: 'w1' }]);
    const counts = { total: 3, completed: 3, dead: 0, cancelled: 0 };
    expect(await callbacksStored()).toEqual([
      { name: 'on-complete', payload: { batchId, payload: { report: 7 }, counts } },
      { name: 'on-success', payload: { batchId, payload: { report: 7 }, counts } },
    ]);
    expect((await s.getBatch!(batchId))!.fired).toEqual({ complete: true, success: true, failure: false });
    await s.rescue();
    expect(await callbacksStored()).toEqual([]);
  });

  it('the first dead job stores onFailure once; onComplete when the rest have finished (cancelled too); never onSuccess', async () => {
    const { batchId, ids } = await s.enqueueBatch!([newJob(), newJob(), newJob(), newJob()], { payload: 'null', callbacks: callbacks() });
    const [a, b] = await s.claim('q', 'w1', 2, 30_000);
    await s.fail([{ id: a!.id, workerId: 'w1', error: error(), retryDelayMs: null }]);
    expect((await callbacksStored()).map((c) => c.name)).toEqual(['on-failure']);
    await s.fail([{ id: b!.id, workerId: 'w1', error: error(), retryDelayMs: null }]);
    expect(await callbacksStored()).toEqual([]);
    const rest = ids.filter((id) => id !== a!.id && id !== b!.id);
    await s.cancel(rest[0]!);
    expect(await callbacksStored()).toEqual([]);
    await s.cancel(rest[1]!);
    const stored = await callbacksStored();
    expect(stored).toEqual([{ name: 'on-complete', payload: { batchId, payload: null, counts: { total: 4, completed: 0, dead: 2, cancelled: 2 } } }]);
  });

  it('a retried attempt is not counted; jobs finished by several workers at once fire each callback once', async () => {
    const { batchId } = await s.enqueueBatch!(Array.from({ length: 20 }, () => newJob()), { payload: 'null', callbacks: { complete: callbacks().complete! } });
    const claimed = await s.claim('q', 'w1', 20, 30_000);
    await s.fail([{ id: claimed[0]!.id, workerId: 'w1', error: error(), retryDelayMs: 0 }]);
    expect((await s.getBatch!(batchId))!.counts.dead).toBe(0);
    const [again] = await s.claim('q', 'w2', 1, 30_000);
    const rest = claimed.slice(1);
    await Promise.all([
      s.complete(rest.slice(0, 10).map((j) => ({ id: j.id, workerId: 'w1' }))),
      s.complete(rest.slice(10).map((j) => ({ id: j.id, workerId: 'w1' }))),
      s.complete([{ id: again!.id, workerId: 'w2' }]),
    ]);
    expect((await callbacksStored()).map((c) => c.name)).toEqual(['on-complete']);
    expect((await s.getBatch!(batchId))!.counts).toEqual({ total: 20, completed: 20, dead: 0, cancelled: 0 });
  });

  it('getBatch() of an unknown id is null', async () => {
    expect(await s.getBatch!('999999')).toBeNull();
  });
}
