import { expect, it } from 'vitest';
import type { NewFlowNode, OnChildFailure } from '../../lib/core/job-record.js';
import { error, newJob, s } from './contract-harness.js';

const node = (name: string, children: NewFlowNode[] = [], onChildFailure: OnChildFailure = 'fail', queue = 'q'): NewFlowNode => ({
  job: newJob({ name, queue, maxAttempts: 1 }),
  onChildFailure,
  children,
});

const stateOf = async (id: string) => (await s.get(id))!.state;
const statsOf = async (queue = 'q') => (await s.stats()).find((st) => st.queue === queue);

/** Claims every due job of `queue`; completes them, but fails (dead) those named in `failing`. */
async function runDue(queue = 'q', failing: string[] = []): Promise<string[]> {
  const claimed = await s.claim(queue, 'w1', 100, 30_000);
  const dies = claimed.filter((j) => failing.includes(j.name));
  await s.complete(claimed.filter((j) => !dies.includes(j)).map((j) => ({ id: j.id, workerId: 'w1' })));
  await s.fail(dies.map((j) => ({ id: j.id, workerId: 'w1', error: error(), retryDelayMs: null })));
  return claimed.map((j) => j.name).sort();
}

/** The state counts are what the jobs say (storages that keep counters). */
async function countsHold(): Promise<void> {
  expect((await s.recount?.()) ?? 0).toBe(0);
}

/** Contract cases of `retry` on a flow parent that ended while it waited for its children. */
export function flowRetryCases(): void {
  it('retry of a parent that died because a child failed: it waits again, its failed children run again, then it runs', async () => {
    const ids = await s.enqueueFlow!(node('p', [node('ok'), node('bad'), node('late', [], 'fail', 'q2')]));
    expect(await runDue('q', ['bad'])).toEqual(['bad', 'ok']);
    const [ok, bad, late] = ids.children.map((c) => c.id) as [string, string, string];
    expect([await stateOf(ids.id), await stateOf(late)]).toEqual(['dead', 'cancelled']);
    expect(await statsOf()).toMatchObject({ waiting: 0, dead: 2 });

    const parent = (await s.retry(ids.id))!;
    expect(parent).toMatchObject({ id: ids.id, state: 'waiting', attempt: 0, failedAt: null });
    expect(await s.get(bad)).toMatchObject({ state: 'available', attempt: 0 });
    expect(await stateOf(late)).toBe('available');
    expect(await stateOf(ok)).toBe('completed');
    expect(await statsOf()).toMatchObject({ waiting: 1, dead: 0, available: 1 });
    await countsHold();

    // The parent is not claimed before its children have completed, and runs once after.
    expect(await runDue('q')).toEqual(['bad']);
    expect(await stateOf(ids.id)).toBe('waiting');
    expect(await runDue('q2')).toEqual(['late']);
    expect(await stateOf(ids.id)).toBe('available');
    expect(await runDue('q')).toEqual(['p']);
    expect(await stateOf(ids.id)).toBe('completed');
    expect(await statsOf()).toMatchObject({ waiting: 0, available: 0, dead: 0 });
    await countsHold();
  });

  it('a retried parent whose child fails again ends dead again, naming that child', async () => {
    const ids = await s.enqueueFlow!(node('p', [node('bad'), node('ok')]));
    await runDue('q', ['bad']);
    await s.retry(ids.id);
    expect(await stateOf(ids.children[1]!.id)).toBe('completed');
    expect(await runDue('q', ['bad'])).toEqual(['bad']);
    const parent = (await s.get(ids.id))!;
    expect(parent.state).toBe('dead');
    expect(parent.lastError!.message).toContain(`child job ${ids.children[0]!.id}`);
    expect(await statsOf()).toMatchObject({ waiting: 0, dead: 2 });
    await countsHold();
  });

  it('retry resumes a nested flow level by level: a failed child that is itself such a parent waits again too', async () => {
    const ids = await s.enqueueFlow!(node('root', [node('mid', [node('leaf')])]));
    await runDue('q', ['leaf']);
    const mid = ids.children[0]!;
    expect([await stateOf(ids.id), await stateOf(mid.id)]).toEqual(['dead', 'dead']);
    expect((await s.retry(ids.id))!.state).toBe('waiting');
    expect([await stateOf(mid.id), await stateOf(mid.children[0]!.id)]).toEqual(['waiting', 'available']);
    expect(await statsOf()).toMatchObject({ waiting: 2, dead: 0, available: 1 });
    await countsHold();
    expect(await runDue()).toEqual(['leaf']);
    expect(await runDue()).toEqual(['mid']);
    expect(await runDue()).toEqual(['root']);
    expect(await stateOf(ids.id)).toBe('completed');
    await countsHold();
  });

  it('retry of a cancelled parent resumes it; a child still running counts with the outcome it reaches', async () => {
    const ids = await s.enqueueFlow!(node('p', [node('pending'), node('running', [], 'fail', 'q2')]));
    const [running] = await s.claim('q2', 'w1', 1, 30_000);
    expect((await s.cancel(ids.id))!.state).toBe('cancelled');
    expect((await s.get(running!.id))!.cancelRequested).toBe(true);
    expect((await s.retry(ids.id))!.state).toBe('waiting');
    expect(await stateOf(ids.children[0]!.id)).toBe('available');
    expect(await stateOf(running!.id)).toBe('running');
    await s.complete([{ id: running!.id, workerId: 'w1' }]);
    expect(await stateOf(ids.id)).toBe('waiting');
    expect(await runDue()).toEqual(['pending']);
    expect(await runDue()).toEqual(['p']);
    await countsHold();
  });

  it('a child retried by hand before its parent is counted once, when it finishes', async () => {
    const ids = await s.enqueueFlow!(node('p', [node('bad'), node('other', [], 'fail', 'q2')]));
    await runDue('q', ['bad']);
    const [bad, other] = ids.children.map((c) => c.id) as [string, string];
    expect(await stateOf(other)).toBe('cancelled');
    expect((await s.retry(bad))!.state).toBe('available');
    expect(await stateOf(ids.id)).toBe('dead'); // a child's retry leaves its parent as it is
    expect((await s.retry(ids.id))!.state).toBe('waiting');
    expect(await stateOf(other)).toBe('available');
    expect(await runDue()).toEqual(['bad']);
    expect(await stateOf(ids.id)).toBe('waiting');
    expect(await runDue('q2')).toEqual(['other']);
    expect(await stateOf(ids.id)).toBe('available');
    await countsHold();
  });

  it("a child retried after it was counted does not count again: a 'continue' parent still waits for the others", async () => {
    const ids = await s.enqueueFlow!(node('p', [node('bad'), node('slow', [], 'fail', 'q2')], 'continue'));
    await runDue('q', ['bad']);
    expect((await s.retry(ids.children[0]!.id))!.state).toBe('available');
    expect(await runDue()).toEqual(['bad']);
    expect(await stateOf(ids.id)).toBe('waiting');
    expect(await runDue('q2')).toEqual(['slow']);
    expect(await stateOf(ids.id)).toBe('available');
  });

  it('a parent that ran and died in its own handler is retried as any job; its children stay as they are', async () => {
    const ids = await s.enqueueFlow!(node('p', [node('a')]));
    await runDue();
    expect(await runDue('q', ['p'])).toEqual(['p']);
    expect(await stateOf(ids.id)).toBe('dead');
    expect((await s.retry(ids.id))!).toMatchObject({ state: 'available', attempt: 0 });
    expect(await stateOf(ids.children[0]!.id)).toBe('completed');
    expect(await runDue()).toEqual(['p']);
    await countsHold();
  });
}
