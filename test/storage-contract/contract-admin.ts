import { expect, it } from 'vitest';
import { error, h, newJob, s, T } from './contract-harness.js';

/** Contract cases of an operator's calls: cancel, retry, pause / resume, list, stats, prune; unknown ids; the clock. */
export function adminCases(): void {
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

  it('runNow(): a job waiting for its runAt is due at once and claimed; others are unchanged', async () => {
    const [a, b] = await s.enqueue([newJob({ delayMs: 3_600_000 }), newJob()]);
    expect(await s.claim('q', 'w1', 5, 30_000)).toHaveLength(1);
    expect((await s.stats()).find((x) => x.queue === 'q')).toMatchObject({ available: 0, scheduled: 1, running: 1 });
    const due = await s.runNow(a!.id);
    expect(due).toMatchObject({ id: a!.id, state: 'available', attempt: 0 });
    expect(due!.runAt.getTime()).toBeLessThanOrEqual((await s.now()) + 1);
    expect((await s.stats()).find((x) => x.queue === 'q')).toMatchObject({ available: 1, scheduled: 0, running: 1 });
    expect((await s.runNow(b!.id))!.state).toBe('running');
    const [claimed] = await s.claim('q', 'w1', 5, 30_000);
    expect(claimed!.id).toBe(a!.id);
    expect(await s.runNow('987654321')).toBeNull();
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

  it('stats() counts per queue', async () => {
    await s.enqueue([newJob(), newJob(), newJob({ delayMs: 60_000 }), newJob({ queue: 'b' })]);
    await s.claim('q', 'w1', 1, 30_000);
    const stats = await s.stats();
    expect(stats.find((x) => x.queue === 'q')).toMatchObject({ available: 1, scheduled: 1, running: 1, dead: 0, paused: false });
    expect(stats.find((x) => x.queue === 'b')).toMatchObject({ available: 1, running: 0 });
  });

  it('throughput() counts completed and died jobs per queue and minute, and keeps them after a prune', async () => {
    expect(await s.throughput()).toEqual([]);
    const [a, b, c] = await s.enqueue([newJob(), newJob({ maxAttempts: 1 }), newJob({ queue: 'b' })]);
    await s.claim('q', 'w1', 2, 30_000);
    await s.claim('b', 'w1', 1, 30_000);
    await s.complete([{ id: a!.id, workerId: 'w1' }, { id: c!.id, workerId: 'w1' }]);
    await s.fail([{ id: b!.id, workerId: 'w1', error: error(), retryDelayMs: null }]);
    await s.prune({ olderThan: new Date((await s.now()) + 60_000), states: ['completed', 'dead'] });
    const now = await s.now();
    const rows = await s.throughput();
    const sum = (queue: string, field: 'completed' | 'died') => rows.filter((r) => r.queue === queue).reduce((n, r) => n + r[field], 0);
    expect([sum('q', 'completed'), sum('q', 'died'), sum('b', 'completed'), sum('b', 'died')]).toEqual([1, 1, 1, 0]);
    for (const r of rows) {
      expect(r.minute % 60_000).toBe(0);
      expect(r.minute).toBeGreaterThan(now - 3_600_000 - 60_000);
      expect(r.minute).toBeLessThanOrEqual(now);
    }
    expect([...rows].sort((x, y) => x.minute - y.minute)).toEqual(rows);
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

  it('prune() with a queue deletes that queue\'s jobs only', async () => {
    const [a, b] = await s.enqueue([newJob(), newJob({ queue: 'b' })]);
    await s.claim('q', 'w1', 1, 30_000);
    await s.claim('b', 'w1', 1, 30_000);
    await s.complete([{ id: a!.id, workerId: 'w1' }, { id: b!.id, workerId: 'w1' }]);
    await h.advance(T);
    expect(await s.prune({ olderThan: new Date((await s.now()) + 1), states: ['completed'], queue: 'b' })).toBe(1);
    expect(await s.get(b!.id)).toBeNull();
    expect(await s.get(a!.id)).not.toBeNull();
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

  it('now() is the storage clock, close to real time', async () => {
    expect(Math.abs((await s.now()) - Date.now())).toBeLessThan(5 * 60_000);
  });
}
