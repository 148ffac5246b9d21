import { expect, it } from 'vitest';
import { newJob, s } from './contract-harness.js';

const H = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', 'x-tenant': 'acmé ✓ "q" \\' };
const json = (h: Record<string, string>) => JSON.stringify(h);

/** Contract cases of job headers: stored with the job, returned by get, list, claim and the local hand-off; `{}` when none. */
export function headerCases(): void {
  it('headers round-trip through enqueue, get, list and claim; a job without them has {}', async () => {
    const [a, b] = await s.enqueue([newJob({ headers: json(H) }), newJob({ name: 'plain' })]);
    expect((await s.get(a!.id))!.headers).toEqual(H);
    expect((await s.get(b!.id))!.headers).toEqual({});
    const page = await s.list({ queue: 'q' });
    expect(Object.fromEntries(page.jobs.map((j) => [j.id, j.headers]))).toEqual({ [a!.id]: H, [b!.id]: {} });
    const claimed = await s.claim('q', 'w1', 10, 30_000);
    expect(Object.fromEntries(claimed.map((j) => [j.id, j.headers]))).toEqual({ [a!.id]: H, [b!.id]: {} });
  });

  it('headers of one job, of a uniform batch, and of a batch whose jobs differ only in headers, are each kept', async () => {
    const [one] = await s.enqueue([newJob({ headers: json({ k: 'one' }) })]);
    const same = await s.enqueue([1, 2, 3].map((i) => newJob({ payload: `{"i":${i}}`, headers: json({ k: 'same' }) })));
    const differ = await s.enqueue([1, 2, 3].map((i) => newJob({ payload: '{}', headers: i === 2 ? null : json({ k: `d${i}` }) })));
    const keyed = await s.enqueue([newJob({ uniqueKey: 'hk', headers: json({ k: 'keyed' }) })]);
    expect((await s.get(one!.id))!.headers).toEqual({ k: 'one' });
    for (const r of same) expect((await s.get(r.id))!.headers).toEqual({ k: 'same' });
    expect(await Promise.all(differ.map(async (r) => (await s.get(r.id))!.headers))).toEqual([{ k: 'd1' }, {}, { k: 'd3' }]);
    expect((await s.findByUniqueKey('hk'))!.id).toBe(keyed[0]!.id);
    expect((await s.get(keyed[0]!.id))!.headers).toEqual({ k: 'keyed' });
  });

  it('enqueueClaimed keeps the headers on the job it hands to the worker', async () => {
    if (!s.enqueueClaimed) return;
    const out = await s.enqueueClaimed(newJob({ headers: json(H) }), 'w1', 30_000);
    expect(out.claimed!.headers).toEqual(H);
    expect((await s.get(out.result.id))!.headers).toEqual(H);
  });

  it('snoozeWith stores the headers of the jobs it enqueues', async () => {
    if (!s.snoozeWith) return;
    await s.enqueue([newJob({ name: 'row' })]);
    const [row] = await s.claim('q', 'w1', 1, 30_000);
    const res = await s.snoozeWith(row!.id, 'w1', new Date((await s.now()) + 60_000), [newJob({ queue: 'other', headers: json(H) })]);
    expect((await s.get(res![0]!.id))!.headers).toEqual(H);
  });
}
