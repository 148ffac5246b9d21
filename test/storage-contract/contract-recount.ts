import { expect, it } from 'vitest';
import { h, newJob, s } from './contract-harness.js';

const waitingIn = async (queue: string) => (await s.stats()).find((st) => st.queue === queue)?.waiting ?? 0;

/** Contract cases of `recount()`: the state counts recomputed from the jobs. */
export function recountCases(): void {
  it('recount() recomputes the waiting count of flow parents and reports each count that was off', async () => {
    const leaf = (name: string) => ({ job: newJob({ name }), onChildFailure: 'fail' as const, children: [] });
    await s.enqueueFlow!({ job: newJob({ name: 'p' }), onChildFailure: 'fail', children: [leaf('a'), leaf('b')] });
    expect(await waitingIn('q')).toBe(1);
    if (!h.skewStateCount) {
      // Counts read off the jobs themselves: nothing can be off.
      expect((await s.recount?.()) ?? 0).toBe(0);
      return;
    }
    await h.skewStateCount('q', 'waiting', 3);
    await h.skewStateCount('ghost', 'waiting', -2);
    expect(await waitingIn('q')).toBe(4);
    expect(await waitingIn('ghost')).toBe(-2);
    expect(await s.recount!()).toBe(2);
    expect(await waitingIn('q')).toBe(1);
    expect(await waitingIn('ghost')).toBe(0);
    expect(await s.recount!()).toBe(0);
    // The writes keep counting from the corrected count.
    const claimed = await s.claim('q', 'w1', 10, 30_000);
    await s.complete(claimed.map((j) => ({ id: j.id, workerId: 'w1' })));
    expect((await s.stats()).find((st) => st.queue === 'q')).toMatchObject({ waiting: 0, available: 1 });
    expect(await s.recount!()).toBe(0);
  });
}
