import { expect, it } from 'vitest';
import { h, newJob, s, T } from './contract-harness.js';

/** Contract cases of the claim (order, limit, due time, races) and of the local hand-off that stores a job claimed (`enqueueClaimed`). */
export function claimCases(): void {
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

  it('claim(…, startNow): the first startNow jobs in claim order start at once, the rest are prefetched; by default all start', async () => {
    const [a, b, c] = await s.enqueue([newJob({ priority: 3 }), newJob({ priority: 1 }), newJob({ priority: 2 })]);
    const claimed = await s.claim('q', 'w1', 3, 30_000, 1);
    expect(claimed.map((j) => [j.id, j.prefetched])).toEqual([[b!.id, false], [c!.id, true], [a!.id, true]]);
    for (const j of claimed) {
      expect(j).toMatchObject({ state: 'running', attempt: 1, lockedBy: 'w1', rescuedUnstarted: false });
      expect(await s.get(j.id)).toMatchObject({ state: 'running', prefetched: j.prefetched });
    }
    const [d, e] = await s.enqueue([newJob(), newJob()]);
    expect((await s.claim('q', 'w2', 1, 30_000, 0)).map((j) => [j.id, j.prefetched])).toEqual([[d!.id, true]]);
    expect((await s.claim('q', 'w2', 5, 30_000)).map((j) => [j.id, j.prefetched])).toEqual([[e!.id, false]]);
    const [st] = (await s.stats()).filter((x) => x.queue === 'q');
    expect(st).toMatchObject({ available: 0, running: 5 });
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
}
