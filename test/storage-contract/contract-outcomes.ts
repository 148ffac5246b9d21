import { expect, it } from 'vitest';
import type { JobErrorInfo } from '../../lib/core/job-record.js';
import { completedBy, failedWith } from '../../lib/core/outcome-landed.js';
import { error, h, newJob, s, T } from './contract-harness.js';

/** Contract cases of a claimed job's outcomes, each guarded by its holder: complete, fail, release, progress. */
export function outcomeCases(): void {
  it('complete() is guarded: only the holder completes; the result is stored', async () => {
    const [r] = await s.enqueue([newJob()]);
    await s.claim('q', 'w1', 1, 30_000);
    expect(await s.complete([{ id: r!.id, workerId: 'intruder' }])).toEqual([]);
    expect(await s.complete([{ id: r!.id, workerId: 'w1', result: '{"ok":true}' }])).toEqual([r!.id]);
    const job = await s.get(r!.id);
    expect(job).toMatchObject({ state: 'completed', result: { ok: true }, lockedBy: null });
    expect(job!.completedAt).toBeInstanceOf(Date);
    // A second completion (stale worker) changes nothing.
    expect(await s.complete([{ id: r!.id, workerId: 'w1' }])).toEqual([]);
  });

  it('complete() takes a batch', async () => {
    const res = await s.enqueue(Array.from({ length: 50 }, () => newJob()));
    const claimed = await s.claim('q', 'w1', 50, 30_000);
    const held = await s.complete(claimed.map((j) => ({ id: j.id, workerId: 'w1' })));
    expect(new Set(held)).toEqual(new Set(res.map((r) => r.id)));
    const [st] = (await s.stats()).filter((x) => x.queue === 'q');
    expect(st!.completed.allTime).toBe(50);
    expect(st!.completed.lastHour).toBe(50);
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

  it('fail() with a delay makes the job retryable at a later runAt; null makes it dead with its error kept', async () => {
    const [a, b] = await s.enqueue([newJob(), newJob()]);
    await s.claim('q', 'w1', 2, 30_000);
    const error = { name: 'Error', message: 'boom', stack: 'Error: boom\n at x', attempt: 1, at: new Date().toISOString() };
    const held = await s.fail([
      { id: a!.id, workerId: 'w1', error, retryDelayMs: T * 2 },
      { id: b!.id, workerId: 'w1', error, retryDelayMs: null },
    ]);
    expect(new Set(held)).toEqual(new Set([a!.id, b!.id]));
    const ja = await s.get(a!.id);
    expect(ja).toMatchObject({ state: 'retryable', attempt: 1, lockedBy: null });
    expect(ja!.lastError).toMatchObject({ message: 'boom', stack: 'Error: boom\n at x' });
    const jb = await s.get(b!.id);
    expect(jb).toMatchObject({ state: 'dead', lastError: { message: 'boom' } });
    expect(await s.claim('q', 'w1', 10, 30_000)).toHaveLength(0);
    await h.advance(T * 3);
    const again = await s.claim('q', 'w2', 10, 30_000);
    expect(again.map((j) => j.id)).toEqual([a!.id]);
    expect(again[0]!.attempt).toBe(2);
    const [st] = (await s.stats()).filter((x) => x.queue === 'q');
    expect(st).toMatchObject({ dead: 1, running: 1 });
    expect(st!.died.allTime).toBe(1);
  });

  it('fail() with cancelled ends the job cancelled; guarded against other workers', async () => {
    const [a] = await s.enqueue([newJob()]);
    await s.claim('q', 'w1', 1, 30_000);
    const error = { name: 'JobCancelledError', message: 'cancelled', attempt: 1, at: new Date().toISOString() };
    expect(await s.fail([{ id: a!.id, workerId: 'w2', error, retryDelayMs: null, cancelled: true }])).toEqual([]);
    expect(await s.fail([{ id: a!.id, workerId: 'w1', error, retryDelayMs: null, cancelled: true }])).toEqual([a!.id]);
    expect((await s.get(a!.id))!.state).toBe('cancelled');
  });

  it('release() hands jobs back without counting the attempt', async () => {
    const [a] = await s.enqueue([newJob()]);
    await s.claim('q', 'w1', 1, 30_000);
    expect(await s.release([a!.id], 'w2')).toEqual([]);
    expect(await s.release([a!.id], 'w1')).toEqual([a!.id]);
    expect(await s.get(a!.id)).toMatchObject({ state: 'available', attempt: 0, lockedBy: null });
    const [again] = await s.claim('q', 'w2', 1, 30_000);
    expect(again!.attempt).toBe(1);
  });

  it('release({ interrupted }) and fail({ interrupted }) count shutdown interruptions; a plain release does not; retry() resets them', async () => {
    const [a] = await s.enqueue([newJob({ maxAttempts: 1 })]);
    expect(await s.get(a!.id)).toMatchObject({ interruptions: 0 });
    await s.claim('q', 'w1', 1, 30_000);
    expect(await s.release([a!.id], 'w2', undefined, { interrupted: true })).toEqual([]);
    expect(await s.release([a!.id], 'w1', undefined, { interrupted: true })).toEqual([a!.id]);
    expect(await s.get(a!.id)).toMatchObject({ state: 'available', attempt: 0, interruptions: 1 });
    await s.claim('q', 'w1', 1, 30_000);
    expect(await s.release([a!.id], 'w1')).toEqual([a!.id]);
    const [claimed] = await s.claim('q', 'w1', 1, 30_000);
    // The claim returns the count: the worker decides from it whether the next interruption is past the cap.
    expect(claimed).toMatchObject({ id: a!.id, attempt: 1, interruptions: 1 });
    expect(await s.fail([{ id: a!.id, workerId: 'w1', error: error('interrupted'), retryDelayMs: null, interrupted: true }])).toEqual([a!.id]);
    expect(await s.get(a!.id)).toMatchObject({ state: 'dead', attempt: 1, interruptions: 2 });
    expect(await s.retry(a!.id)).toMatchObject({ state: 'available', attempt: 0, interruptions: 0 });
  });

  it('release() with runAt reschedules the job for later without counting the attempt', async () => {
    const [a] = await s.enqueue([newJob({ uniqueKey: 'sched' })]);
    await s.claim('q', 'w1', 1, 30_000);
    const at = new Date((await s.now()) + T * 2);
    expect(await s.release([a!.id], 'w1', at)).toEqual([a!.id]);
    expect(await s.get(a!.id)).toMatchObject({ state: 'scheduled', attempt: 0, lockedBy: null });
    expect((await s.findByUniqueKey('sched'))!.id).toBe(a!.id);
    expect(await s.claim('q', 'w1', 1, 30_000)).toHaveLength(0);
    await h.advance(T * 3);
    expect(await s.claim('q', 'w1', 1, 30_000)).toHaveLength(1);
  });

  it('release() with a runAt already past makes the job available at that new runAt', async () => {
    // A schedule row snoozed to a next tick that went by while it fired: the next claim
    // must see the new tick, or it would fire the old one again.
    const [a] = await s.enqueue([newJob()]);
    const [claimed] = await s.claim('q', 'w1', 1, 30_000);
    await h.advance(T);
    const at = new Date((await s.now()) - 5);
    expect(at.getTime()).toBeGreaterThan(claimed!.runAt.getTime());
    expect(await s.release([a!.id], 'w1', at)).toEqual([a!.id]);
    expect(await s.get(a!.id)).toMatchObject({ state: 'available', attempt: 0, runAt: at });
    const [again] = await s.claim('q', 'w1', 1, 30_000);
    expect(again!.runAt.getTime()).toBe(at.getTime());
  });

  it('snoozeWith() puts the held job back to sleep and stores the jobs, together; for another worker it does neither', async () => {
    const [row] = await s.enqueue([newJob({ name: 'jobs:schedule', uniqueKey: 'sched:k' })]);
    await s.claim('q', 'w1', 1, 30_000);
    const at = new Date((await s.now()) + 60_000);
    const tick = newJob({ name: 'tick', uniqueKey: 'k:1' });
    expect(await s.snoozeWith!(row!.id, 'w2', at, [tick])).toBeNull();
    expect((await s.list({ name: 'tick' })).jobs).toEqual([]);
    expect(await s.get(row!.id)).toMatchObject({ state: 'running', lockedBy: 'w1' });

    const results = await s.snoozeWith!(row!.id, 'w1', at, [tick]);
    expect(results).toHaveLength(1);
    expect(results![0]!.duplicate).toBe(false);
    expect(await s.get(results![0]!.id)).toMatchObject({ name: 'tick', state: 'available', uniqueKey: 'k:1' });
    expect(await s.get(row!.id)).toMatchObject({ state: 'scheduled', attempt: 0, lockedBy: null, runAt: at });
    const [st] = (await s.stats()).filter((x) => x.queue === 'q');
    expect(st).toMatchObject({ running: 0, available: 1, scheduled: 1 });
    // Not held any more: a second snooze changes nothing and stores nothing.
    expect(await s.snoozeWith!(row!.id, 'w1', at, [newJob({ name: 'tick', uniqueKey: 'k:2' })])).toBeNull();
    expect((await s.list({ name: 'tick' })).jobs).toHaveLength(1);
  });

  it('snoozeWith() on a job cancelled while it ran (an unschedule() during its tick) ends it cancelled and stores none of the jobs', async () => {
    const [row] = await s.enqueue([newJob({ name: 'jobs:schedule', uniqueKey: 'sched:k' })]);
    // The tick is in flight: its row is claimed, its handler has not written yet.
    await s.claim('q', 'w1', 1, 30_000);
    expect(await s.cancel(row!.id)).toMatchObject({ state: 'running', cancelRequested: true });
    const at = new Date((await s.now()) + T);
    expect(await s.snoozeWith!(row!.id, 'w1', at, [newJob({ name: 'tick', uniqueKey: 'k:1' })])).toEqual([]);
    expect((await s.list({ name: 'tick' })).jobs).toEqual([]);
    expect(await s.get(row!.id)).toMatchObject({ state: 'cancelled', lockedBy: null, cancelRequested: false });
    expect(await s.findByUniqueKey('sched:k')).toBeNull();
    const [st] = (await s.stats()).filter((x) => x.queue === 'q');
    expect(st).toMatchObject({ running: 0, available: 0, scheduled: 0 });
    // Past the time it was to wake at, it stays cancelled.
    await h.advance(T * 2);
    expect(await s.claim('q', 'w1', 10, 30_000)).toEqual([]);
  });

  it('progress() stores percent and data for the holder only', async () => {
    const [a] = await s.enqueue([newJob()]);
    await s.claim('q', 'w1', 1, 30_000);
    await s.progress(a!.id, 'w2', 90, null);
    expect((await s.get(a!.id))!.progress).toBeNull();
    await s.progress(a!.id, 'w1', 40, '{"step":"b"}');
    expect(await s.get(a!.id)).toMatchObject({ progress: 40, progressData: { step: 'b' } });
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
}
