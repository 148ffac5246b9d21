import { expect, it } from 'vitest';
import { newJob, numeric, s } from './contract-harness.js';

/** Contract cases of enqueue: ids, stored values, delays, and batches of every shape (one job, uniform, mixed, past one statement). */
export function enqueueCases(): void {
  it('enqueues and returns ids in order; get() returns the stored job', async () => {
    const res = await s.enqueue([newJob({ payload: '{"a":1}' }), newJob({ payload: '{"a":2}', name: 'other' })]);
    expect(res).toHaveLength(2);
    expect(res.every((r) => r.duplicate === false)).toBe(true);
    expect(res[0]!.id).not.toBe(res[1]!.id);
    const job = await s.get(res[1]!.id);
    expect(job).toMatchObject({ id: res[1]!.id, name: 'other', queue: 'q', payload: { a: 2 }, state: 'available', attempt: 0, maxAttempts: 3 });
    expect(job!.runAt).toBeInstanceOf(Date);
    expect(await s.get('999999999')).toBeNull();
  });

  it('stores payloads exactly (unicode, nesting, large numbers within JSON)', async () => {
    const payload = { s: 'héllo ✓ \u0000 "quoted" \\ back', n: [1, 2.5, -3e10], deep: { a: { b: null, c: true } } };
    const [r] = await s.enqueue([newJob({ payload: JSON.stringify(payload) })]);
    expect((await s.get(r!.id))!.payload).toEqual(payload);
  });

  it('honours an absolute runAt in the future', async () => {
    await s.enqueue([newJob({ runAt: new Date((await s.now()) + 3_600_000) })]);
    expect(await s.claim('q', 'w1', 10, 30_000)).toHaveLength(0);
    const [st] = (await s.stats()).filter((x) => x.queue === 'q');
    expect(st).toMatchObject({ available: 0, scheduled: 1 });
  });

  it('keeps per-job backoff and timeout overrides', async () => {
    const [a] = await s.enqueue([newJob({ backoff: { type: 'fixed', ms: 1234 }, timeoutMs: 999 })]);
    expect(await s.get(a!.id)).toMatchObject({ backoff: { type: 'fixed', ms: 1234 }, timeoutMs: 999 });
  });

  it('enqueue: a batch larger than one statement keeps input order, keys and duplicates', async () => {
    const [held] = await s.enqueue([newJob({ uniqueKey: 'held' })]);
    const jobs = Array.from({ length: 6000 }, (_, i) =>
      newJob({ payload: `{"i":${i}}`, uniqueKey: i === 5999 ? 'held' : i % 1000 === 1 ? `k${i}` : i === 4500 ? 'k1001' : null }),
    );
    const res = await s.enqueue(jobs);
    expect(res).toHaveLength(6000);
    expect(res[5999]).toEqual({ id: held!.id, duplicate: true });
    expect(res[4500]).toEqual({ id: res[1001]!.id, duplicate: true });
    const stored = res.filter((r) => !r.duplicate).map((r) => r.id);
    expect(stored).toHaveLength(5998);
    expect([...stored].sort(numeric)).toEqual(stored);
    expect((await s.get(res[3001]!.id))!.payload).toEqual({ i: 3001 });
    expect((await s.findByUniqueKey('k2001'))!.id).toBe(res[2001]!.id);
    const [st] = (await s.stats()).filter((x) => x.queue === 'q');
    expect(st!.available).toBe(5999);
  });

  it('enqueue: 1,000 jobs without keys keep input order and every payload exactly, and count once', async () => {
    const odd = ['"quoted" \\ back\\slash \\" \\\\', 'héllo ✓ 😀 \u0000 \n \t ﻿', "it's {not} [json] ,\"", ''];
    const payloads: unknown[] = Array.from({ length: 1000 }, (_, i) => ({ i, s: odd[i % odd.length] }));
    payloads[1] = null;
    payloads[2] = 'a JSON string with "quotes" and \\ and ✓';
    payloads[3] = [1, 'two', { three: [3] }];
    payloads[4] = -12.5e-7;
    payloads[5] = true;
    const res = await s.enqueue(payloads.map((p) => newJob({ payload: JSON.stringify(p) })));
    expect(res).toHaveLength(1000);
    expect(res.every((r) => !r.duplicate)).toBe(true);
    const ids = res.map((r) => r.id);
    expect([...ids].sort(numeric)).toEqual(ids);
    expect(new Set(ids).size).toBe(1000);
    for (const i of [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 998, 999]) expect((await s.get(ids[i]!))!.payload).toEqual(payloads[i]);
    const claimed = await s.claim('q', 'w1', 1000, 30_000);
    expect(claimed.map((j) => j.id)).toEqual(ids);
    expect(claimed.map((j) => j.payload)).toEqual(payloads);
    const [st] = (await s.stats()).filter((x) => x.queue === 'q');
    expect(st).toMatchObject({ running: 1000, available: 0 });
  });

  it('enqueue: a batch with the same options stores them on every job; delayed, it waits and counts as scheduled', async () => {
    const options = { priority: 3, maxAttempts: 2, delayMs: 60_000, backoff: { type: 'fixed' as const, ms: 5 }, timeoutMs: 1234 };
    const res = await s.enqueue(Array.from({ length: 5 }, (_, i) => newJob({ payload: `{"i":${i}}`, ...options })));
    const ids = res.map((r) => r.id);
    expect([...ids].sort(numeric)).toEqual(ids);
    const before = Date.now();
    for (const [i, id] of ids.entries()) {
      const job = (await s.get(id))!;
      expect(job).toMatchObject({ queue: 'q', name: 'job', payload: { i }, state: 'scheduled', priority: 3, maxAttempts: 2, backoff: options.backoff, timeoutMs: 1234 });
      expect(job.runAt.getTime()).toBeGreaterThan(before + 50_000);
    }
    expect(await s.claim('q', 'w1', 10, 30_000)).toEqual([]);
    const at = new Date(Date.now() + 3_600_000);
    await s.enqueue([newJob({ queue: 'q2', runAt: at }), newJob({ queue: 'q2', runAt: at })]);
    const past = new Date(Date.now() - 1000);
    const due = await s.enqueue([newJob({ queue: 'q3', runAt: past }), newJob({ queue: 'q3', runAt: past })]);
    expect((await s.get(due[1]!.id))!.runAt.getTime()).toBe(past.getTime());
    const stats = await s.stats();
    expect(stats.find((x) => x.queue === 'q')).toMatchObject({ scheduled: 5, available: 0 });
    expect(stats.find((x) => x.queue === 'q2')).toMatchObject({ scheduled: 2, available: 0 });
    expect(stats.find((x) => x.queue === 'q3')).toMatchObject({ scheduled: 0, available: 2 });
    expect((await s.claim('q3', 'w1', 10, 30_000)).map((j) => j.id)).toEqual(due.map((r) => r.id));
  });

  it('enqueue: a batch whose jobs differ in queue, name or options stores each as given', async () => {
    const res = await s.enqueue([
      newJob({ payload: '{"n":0}' }),
      newJob({ payload: '{"n":1}', queue: 'other' }),
      newJob({ payload: '{"n":2}', name: 'second' }),
      newJob({ payload: '{"n":3}', priority: 7 }),
      newJob({ payload: '{"n":4}', delayMs: 60_000 }),
    ]);
    const jobs = await Promise.all(res.map((r) => s.get(r.id)));
    expect(jobs.map((j) => [j!.queue, j!.name, j!.priority, j!.state, j!.payload])).toEqual([
      ['q', 'job', 0, 'available', { n: 0 }],
      ['other', 'job', 0, 'available', { n: 1 }],
      ['q', 'second', 0, 'available', { n: 2 }],
      ['q', 'job', 7, 'available', { n: 3 }],
      ['q', 'job', 0, 'scheduled', { n: 4 }],
    ]);
    const stats = await s.stats();
    expect(stats.find((x) => x.queue === 'q')).toMatchObject({ available: 3, scheduled: 1 });
    expect(stats.find((x) => x.queue === 'other')).toMatchObject({ available: 1, scheduled: 0 });
  });

  it('enqueue of one job stores payloads that are null, a JSON string or escapes exactly', async () => {
    for (const payload of [null, 'a "string" \\ ✓', { s: '\u0000 \\" 😀' }, [], 0]) {
      const [r] = await s.enqueue([newJob({ payload: JSON.stringify(payload) })]);
      expect((await s.get(r!.id))!.payload).toEqual(payload);
    }
    const [st] = (await s.stats()).filter((x) => x.queue === 'q');
    expect(st!.available).toBe(5);
  });

  it('enqueue: a batch mixing keyless jobs and keys (held, new, repeated) keeps order and counts', async () => {
    const [held] = await s.enqueue([newJob({ uniqueKey: 'held' })]);
    const res = await s.enqueue([
      newJob({ payload: '{"n":0}' }),
      newJob({ uniqueKey: 'held' }),
      newJob({ payload: '{"n":2}', uniqueKey: 'new' }),
      newJob({ payload: '{"n":3}' }),
      newJob({ uniqueKey: 'new' }),
    ]);
    expect(res[1]).toEqual({ id: held!.id, duplicate: true });
    expect(res[4]).toEqual({ id: res[2]!.id, duplicate: true });
    const stored = [res[0]!.id, res[2]!.id, res[3]!.id];
    expect([...stored].sort(numeric)).toEqual(stored);
    expect((await s.get(res[3]!.id))!.payload).toEqual({ n: 3 });
    const [st] = (await s.stats()).filter((x) => x.queue === 'q');
    expect(st!.available).toBe(4);
  });
}
