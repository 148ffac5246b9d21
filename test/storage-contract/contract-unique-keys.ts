import { expect, it } from 'vitest';
import { error, h, newJob, s, T } from './contract-harness.js';

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

/**
 * Contract cases of a unique window (`uniqueTtlMs`): the key holds for that long from the
 * holder's enqueue, on the storage's clock, and only while the holder is in its `uniqueWhile`
 * states. A duplicate does not extend the window (a sliding window from the first enqueue).
 */
export function uniqueWindowCases(): void {
  const WINDOW = 1_000;

  it('uniqueTtlMs: within the window a duplicate; past it (counted from the holder, not the duplicate) a new job that holds the key', async () => {
    const [first] = await s.enqueue([newJob({ uniqueKey: 'w', uniqueTtlMs: WINDOW })]);
    expect(first!.duplicate).toBe(false);
    await h.advance(T);
    expect(await s.enqueue([newJob({ uniqueKey: 'w', uniqueTtlMs: WINDOW })])).toEqual([{ id: first!.id, duplicate: true }]);
    expect((await s.findByUniqueKey('w'))!.id).toBe(first!.id);
    // The duplicate came T after the first: a window that it had extended would still be open.
    await h.advance(WINDOW);
    const [second] = await s.enqueue([newJob({ uniqueKey: 'w', uniqueTtlMs: WINDOW })]);
    expect(second!.duplicate).toBe(false);
    expect(second!.id).not.toBe(first!.id);
    // The stored key is the key given: the window is not part of it.
    expect((await s.get(second!.id))!.uniqueKey).toBe('w');
    expect((await s.findByUniqueKey('w'))!.id).toBe(second!.id);
    expect(await s.enqueue([newJob({ uniqueKey: 'w', uniqueTtlMs: WINDOW })])).toEqual([{ id: second!.id, duplicate: true }]);
    // The first job is still waiting: it only gave its key up.
    expect((await s.get(first!.id))!.state).toMatch(/^(available|scheduled)$/);
    const claimed = await s.claim('q', 'w1', 10, 30_000);
    expect(claimed.map((j) => j.id).sort()).toEqual([first!.id, second!.id].sort());
  });

  it('uniqueTtlMs with uniqueWhile: the key ends with the window or the states, whichever is first', async () => {
    // 'queued' with a long window: starting ends it.
    const [q1] = await s.enqueue([newJob({ uniqueKey: 'wq', uniqueWhile: 'queued', uniqueTtlMs: 3_600_000 })]);
    await s.claim('q', 'w1', 1, 30_000);
    const [q2] = await s.enqueue([newJob({ uniqueKey: 'wq', uniqueWhile: 'queued', uniqueTtlMs: 3_600_000 })]);
    expect(q2!.duplicate).toBe(false);
    expect(q2!.id).not.toBe(q1!.id);

    // 'until-complete': a dead job holds its key only until its window ends.
    const [u1] = await s.enqueue([newJob({ queue: 'u', uniqueKey: 'wu', uniqueWhile: 'until-complete', uniqueTtlMs: WINDOW, maxAttempts: 1 })]);
    await s.claim('u', 'w1', 1, 30_000);
    await s.fail([{ id: u1!.id, workerId: 'w1', error: error(), retryDelayMs: null }]);
    expect(await s.enqueue([newJob({ queue: 'u', uniqueKey: 'wu', uniqueWhile: 'until-complete', uniqueTtlMs: WINDOW })])).toEqual([
      { id: u1!.id, duplicate: true },
    ]);
    await h.advance(WINDOW + T);
    expect(await s.findByUniqueKey('wu')).toBeNull();
    const [u2] = await s.enqueue([newJob({ queue: 'u', uniqueKey: 'wu', uniqueWhile: 'until-complete', uniqueTtlMs: WINDOW })]);
    expect(u2!.duplicate).toBe(false);
    expect((await s.get(u1!.id))!.state).toBe('dead');
  });

  it("the window is the holder's: a job without one holds its key while its states do; a holder's ended window frees the key for any job", async () => {
    const [plain] = await s.enqueue([newJob({ uniqueKey: 'p' })]);
    await h.advance(T);
    expect(await s.enqueue([newJob({ uniqueKey: 'p', uniqueTtlMs: 1 })])).toEqual([{ id: plain!.id, duplicate: true }]);

    const [windowed] = await s.enqueue([newJob({ uniqueKey: 'x', uniqueTtlMs: T })]);
    await h.advance(2 * T);
    const [after] = await s.enqueue([newJob({ uniqueKey: 'x' })]);
    expect(after!.duplicate).toBe(false);
    expect(after!.id).not.toBe(windowed!.id);
    // Now held without a window: for as long as the job waits.
    await h.advance(2 * T);
    expect(await s.enqueue([newJob({ uniqueKey: 'x', uniqueTtlMs: T })])).toEqual([{ id: after!.id, duplicate: true }]);
  });

  it("concurrent enqueues of one key whose holder's window has ended store exactly one new job", async () => {
    const [old] = await s.enqueue([newJob({ uniqueKey: 'cw', uniqueTtlMs: T })]);
    await h.advance(2 * T);
    const results = (await Promise.all(Array.from({ length: 10 }, () => s.enqueue([newJob({ uniqueKey: 'cw', uniqueTtlMs: WINDOW })])))).flat();
    const stored = results.filter((r) => !r.duplicate);
    expect(stored).toHaveLength(1);
    expect(stored[0]!.id).not.toBe(old!.id);
    expect(new Set(results.map((r) => r.id))).toEqual(new Set([stored[0]!.id]));
    expect((await s.findByUniqueKey('cw'))!.id).toBe(stored[0]!.id);
  });
}
