import { expect, it } from 'vitest';
import { h, newJob, s, T } from './contract-harness.js';

const jobs = (n: number, queue = 'q') => Array.from({ length: n }, () => newJob({ queue }));
const ids = (rows: Array<{ id: string }>) => rows.map((r) => r.id);

/** Contract cases of queue limits: global concurrency, rate limit and blocks, enforced by the claim. */
export function limitCases(): void {
  it('a job keeps its group: stored, claimed and listed with it (one job, a uniform batch, a mixed batch)', async () => {
    const [one] = await s.enqueue([newJob({ group: 'tenant-1' })]);
    const uniform = await s.enqueue([newJob({ group: 'tenant-2' }), newJob({ group: 'tenant-2' })]);
    const mixed = await s.enqueue([newJob({ group: 'tenant "3"' }), newJob(), newJob({ group: 'ünï' })]);
    expect((await s.get(one!.id))!.group).toBe('tenant-1');
    expect(await Promise.all(uniform.map(async (r) => (await s.get(r.id))!.group))).toEqual(['tenant-2', 'tenant-2']);
    expect(await Promise.all(mixed.map(async (r) => (await s.get(r.id))!.group))).toEqual(['tenant "3"', null, 'ünï']);
    const claimed = await s.claim('q', 'w1', 10, 30_000);
    expect(claimed.map((j) => j.group).sort()).toEqual([null, 'tenant "3"', 'tenant-1', 'tenant-2', 'tenant-2', 'ünï'].sort());
    expect((await s.list({ queue: 'q' })).jobs.every((j) => j.group !== undefined)).toBe(true);
  });

  it('setLimits / limits: stored, replaced, removed with {}', async () => {
    expect(await s.limits()).toEqual([]);
    await s.setLimits('q', { globalConcurrency: 3, rateLimit: { limit: 10, intervalMs: 1000 } });
    await s.setLimits('other', { globalConcurrency: 1 });
    expect(await s.limits()).toEqual([
      { queue: 'other', limits: { globalConcurrency: 1 }, blockedUntil: null },
      { queue: 'q', limits: { globalConcurrency: 3, rateLimit: { limit: 10, intervalMs: 1000 } }, blockedUntil: null },
    ]);
    await s.setLimits('q', { rateLimit: { limit: 5, intervalMs: 200 } });
    await s.setLimits('other', {});
    expect(await s.limits()).toEqual([
      { queue: 'other', limits: {}, blockedUntil: null },
      { queue: 'q', limits: { rateLimit: { limit: 5, intervalMs: 200 } }, blockedUntil: null },
    ]);
    await s.enqueue(jobs(3, 'other'));
    expect(await s.claim('other', 'w1', 10, 30_000)).toHaveLength(3);
  });

  it('globalConcurrency: workers hold slots, never more than the limit in all; a lapsed hold gives its slots back', async () => {
    if (!s.holdSlots) return;
    const hold = (w: string, want: number, keep = 0, leaseMs = 30_000) => s.holdSlots!('q', w, { want, keep, leaseMs });
    expect(await hold('w1', 2)).toBeNull(); // no limits: nothing held
    await s.setLimits('q', { globalConcurrency: 3 });
    expect(await hold('w1', 2)).toEqual({ slots: 2, othersWaiting: false });
    expect(await hold('w2', 5, 0, T)).toEqual({ slots: 1, othersWaiting: false });
    expect(await hold('w3', 5)).toEqual({ slots: 0, othersWaiting: false });
    // w3 waits for slots: w1 is cut to its fair share (1 of 3 among three), yet keeps the 2 it uses…
    expect(await hold('w1', 2, 2)).toEqual({ slots: 1, othersWaiting: true });
    expect(await hold('w3', 5)).toMatchObject({ slots: 0 });
    // …until it asks again keeping only 1: the slot goes to w3.
    expect(await hold('w1', 2, 1)).toEqual({ slots: 1, othersWaiting: true });
    expect(await hold('w3', 5)).toMatchObject({ slots: 1 });
    // w2's hold lapses (its lease ran out): its slot comes back.
    await h.advance(T * 3);
    expect(await hold('w3', 5, 1)).toEqual({ slots: 2, othersWaiting: false });
    // Letting go (want and keep 0), and a limit removed.
    expect(await hold('w3', 0, 0)).toEqual({ slots: 0, othersWaiting: true }); // w1 wants 2, holds 1
    expect(await hold('w1', 3, 1)).toEqual({ slots: 3, othersWaiting: false });
    await s.setLimits('q', {});
    expect(await hold('w1', 3, 3)).toBeNull();
    await s.setLimits('q', { globalConcurrency: 2 });
    expect(await hold('w2', 2)).toEqual({ slots: 2, othersWaiting: false });
  });

  it('globalConcurrency: a claim is not cut by it (the holds keep it): jobs are buffered as without limits', async () => {
    await s.setLimits('q', { globalConcurrency: 2 });
    await s.enqueue(jobs(10));
    const claimed = await s.claim('q', 'w1', 8, 30_000, 2);
    expect(claimed.map((j) => j.prefetched)).toEqual([false, false, true, true, true, true, true, true]);
  });

  it('holdSlots refuses a malformed request, naming the field', async () => {
    if (!s.holdSlots) return;
    await s.setLimits('q', { globalConcurrency: 2 });
    await expect(s.holdSlots('q', 'w1', { want: -1, keep: 0, leaseMs: 1000 })).rejects.toThrow(/want/);
    await expect(s.holdSlots('q', 'w1', { want: 1, keep: 0.5, leaseMs: 1000 })).rejects.toThrow(/keep/);
    await expect(s.holdSlots('', 'w1', { want: 1, keep: 0, leaseMs: 1000 })).rejects.toThrow(/queue name/);
  });

  it('rateLimit: at most `limit` starts per interval (a sliding window), only jobs that start at once', async () => {
    await s.setLimits('q', { rateLimit: { limit: 3, intervalMs: 3_600_000 } });
    await s.enqueue(jobs(10));
    // Under a rate limit nothing is prefetched: a claim for the buffer alone takes nothing.
    expect(await s.claim('q', 'w1', 5, 30_000, 0)).toEqual([]);
    const first = await s.claim('q', 'w1', 5, 30_000, 2);
    expect(first.map((j) => j.prefetched)).toEqual([false, false]);
    expect(await s.claim('q', 'w2', 5, 30_000)).toHaveLength(1);
    // Finishing does not give starts back.
    await s.complete(first.map((j) => ({ id: j.id, workerId: 'w1' })));
    expect(await s.claim('q', 'w2', 5, 30_000)).toEqual([]);
    // A shorter interval: the starts above fall out of the window.
    await s.setLimits('q', { rateLimit: { limit: 3, intervalMs: T } });
    await h.advance(T * 2);
    expect(await s.claim('q', 'w2', 5, 30_000)).toHaveLength(3);
    expect(await s.claim('q', 'w2', 5, 30_000)).toEqual([]);
  });

  it('globalConcurrency beside a rate limit: the claim follows the rate limit (only jobs that start at once)', async () => {
    await s.setLimits('q', { globalConcurrency: 2, rateLimit: { limit: 3, intervalMs: 3_600_000 } });
    await s.enqueue(jobs(10));
    expect(await s.claim('q', 'w1', 5, 30_000, 2)).toHaveLength(2);
    expect(await s.claim('q', 'w1', 5, 30_000)).toHaveLength(1);
    expect(await s.claim('q', 'w1', 5, 30_000)).toEqual([]);
  });

  it('blockQueue: the queue starts nothing until the block ends; a later block only lengthens it; other queues go on', async () => {
    await s.enqueue([...jobs(3), ...jobs(2, 'other')]);
    await s.blockQueue('q', T * 10);
    await s.blockQueue('q', 1);
    const [stored] = await s.limits();
    expect(stored).toMatchObject({ queue: 'q', limits: {} });
    expect(stored!.blockedUntil!.getTime()).toBeGreaterThan((await s.now()) + T * 3);
    expect(await s.claim('q', 'w1', 5, 30_000)).toEqual([]);
    expect(await s.claim('other', 'w1', 5, 30_000)).toHaveLength(2);
    await h.advance(T * 12);
    expect(await s.claim('q', 'w1', 5, 30_000)).toHaveLength(3);
  });

  it('a limited queue never takes the local hand-off: its jobs are stored waiting and claimed under its limits', async () => {
    if (!h.claimsOnEnqueue || !s.enqueueClaimed) return;
    await s.setLimits('q', { globalConcurrency: 1 });
    const { result, claimed } = await s.enqueueClaimed(newJob(), 'w1', 30_000);
    expect(claimed).toBeNull();
    expect(await s.get(result.id)).toMatchObject({ state: 'available' });
    const [later] = await s.enqueue(jobs(1));
    expect(ids(await s.claim('q', 'w1', 5, 30_000))).toEqual([result.id, later!.id]);
  });

  it('holds of many workers at once never add up to more than the global concurrency', async () => {
    if (!s.holdSlots) return;
    await s.setLimits('q', { globalConcurrency: 4 });
    const grants = await Promise.all(Array.from({ length: 8 }, (_, i) => s.holdSlots!('q', `w${i}`, { want: 5, keep: 0, leaseMs: 30_000 })));
    expect(grants.reduce((n, g) => n + g!.slots, 0)).toBe(4);
  });

  it('groups.concurrency: each group runs at most that many; a group at its limit never blocks the others; slots come back', async () => {
    await s.setLimits('q', { groups: { concurrency: 2 } });
    await s.enqueue([...groupJobs('A', 10), ...groupJobs('B', 3), ...groupJobs('C', 3)]);
    // A claim may buffer: its jobs count against their groups like running ones.
    const first = await s.claim('q', 'w1', 10, 30_000, 4);
    expect(countBy(first)).toEqual({ A: 2, B: 2, C: 2 });
    expect(first.filter((j) => !j.prefetched)).toHaveLength(4);
    expect(await s.claim('q', 'w2', 10, 30_000)).toEqual([]);
    await s.complete([{ id: first.find((j) => j.group === 'B')!.id, workerId: 'w1' }]);
    expect(countBy(await s.claim('q', 'w2', 10, 30_000))).toEqual({ B: 1 });
    expect((await s.limits())[0]!.limits).toEqual({ groups: { concurrency: 2 } });
  });

  it('groups: claims go round-robin across groups with waiting jobs, a backlog in one never holds the others back', async () => {
    await s.setLimits('q', { groups: { concurrency: 1000 } });
    await s.enqueue(groupJobs('A', 60));
    await s.enqueue([...groupJobs('B', 5), ...groupJobs('C', 5)]);
    expect(countBy(await s.claim('q', 'w1', 6, 30_000))).toEqual({ A: 2, B: 2, C: 2 });
    // The next claim starts after the group served last: every group gets its turn.
    const next = [await s.claim('q', 'w1', 1, 30_000), await s.claim('q', 'w1', 1, 30_000), await s.claim('q', 'w1', 1, 30_000)];
    expect(next.map((c) => c.length)).toEqual([1, 1, 1]);
    expect(new Set(next.map((c) => c[0]!.group))).toEqual(new Set(['A', 'B', 'C']));
    // Within a group, claim order holds.
    // B and C have 2 left each: what they cannot take goes to A.
    expect(countBy(await s.claim('q', 'w1', 9, 30_000))).toEqual({ A: 5, B: 2, C: 2 });
  });

  it('groups.rateLimit: at most `limit` starts per group per interval', async () => {
    await s.setLimits('q', { groups: { rateLimit: { limit: 2, intervalMs: 3_600_000 } } });
    await s.enqueue([...groupJobs('A', 5), ...groupJobs('B', 5)]);
    // Under a rate limit nothing is buffered: a claim for the buffer alone takes nothing.
    expect(await s.claim('q', 'w1', 10, 30_000, 0)).toEqual([]);
    const first = await s.claim('q', 'w1', 10, 30_000);
    expect(countBy(first)).toEqual({ A: 2, B: 2 });
    await s.complete(first.map((j) => ({ id: j.id, workerId: 'w1' })));
    expect(await s.claim('q', 'w1', 10, 30_000)).toEqual([]);
    await s.enqueue(groupJobs('C', 3));
    expect(countBy(await s.claim('q', 'w1', 10, 30_000))).toEqual({ C: 2 });
  });

  it('blockQueue(…, group): only that group stops, until its block ends; jobs without a group wait for the groups', async () => {
    await s.enqueue([...groupJobs('A', 3), ...groupJobs('B', 2)]);
    await s.blockQueue('q', T * 10, 'A');
    expect(countBy(await s.claim('q', 'w1', 10, 30_000))).toEqual({ B: 2 });
    expect(await s.claim('q', 'w1', 10, 30_000)).toEqual([]);
    await h.advance(T * 12);
    expect(countBy(await s.claim('q', 'w1', 10, 30_000))).toEqual({ A: 3 });
  });

  it('groups: jobs without a group are claimed once no group has waiting jobs', async () => {
    await s.setLimits('q', { groups: { concurrency: 5 } });
    await s.enqueue([...jobs(2), ...groupJobs('A', 2)]);
    expect(countBy(await s.claim('q', 'w1', 10, 30_000))).toEqual({ A: 2 });
    expect(countBy(await s.claim('q', 'w1', 10, 30_000))).toEqual({ none: 2 });
  });

  it('grouped claims from many claimers at once never exceed a group\'s concurrency', async () => {
    await s.setLimits('q', { groups: { concurrency: 2 } });
    await s.enqueue([...groupJobs('A', 10), ...groupJobs('B', 10), ...groupJobs('C', 10)]);
    const claims = await Promise.all(Array.from({ length: 8 }, (_, i) => s.claim('q', `w${i}`, 3, 30_000)));
    expect(countBy(claims.flat())).toEqual({ A: 2, B: 2, C: 2 });
  });
}

const groupJobs = (group: string, n: number) => Array.from({ length: n }, () => newJob({ group }));

function countBy(rows: Array<{ group: string | null }>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rows) out[r.group ?? 'none'] = (out[r.group ?? 'none'] ?? 0) + 1;
  return out;
}
