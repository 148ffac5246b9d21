import { expect, it } from 'vitest';
import type { FlowIds, NewFlowNode, OnChildFailure } from '../../lib/core/job-record.js';
import { error, h, newJob, s } from './contract-harness.js';

const node = (name: string, children: NewFlowNode[] = [], onChildFailure: OnChildFailure = 'fail', queue = 'q'): NewFlowNode => ({
  job: newJob({ name, queue }),
  onChildFailure,
  children,
});

/** Claims every due job of `queue` and completes those named in `names` (all when absent). */
async function runDue(queue = 'q', worker = 'w1'): Promise<string[]> {
  const claimed = await s.claim(queue, worker, 100, 30_000);
  await s.complete(claimed.map((j) => ({ id: j.id, workerId: worker, result: JSON.stringify(`${j.name}-done`) })));
  return claimed.map((j) => j.name).sort();
}

const stateOf = async (id: string) => (await s.get(id))!.state;

/** Contract cases of flows: parents that wait for their children (`enqueueFlow`, `children`). */
export function flowCases(): void {
  it('enqueueFlow() stores the tree: parents waiting, leaves claimable, ids in the shape given', async () => {
    const ids = await s.enqueueFlow!(node('album', [node('a'), node('b', [node('b1')])]));
    expect(ids.children).toHaveLength(2);
    expect(ids.children[1]!.children).toHaveLength(1);
    expect(await stateOf(ids.id)).toBe('waiting');
    expect(await stateOf(ids.children[1]!.id)).toBe('waiting');
    expect((await s.get(ids.children[0]!.id))!.parentId).toBe(ids.id);
    expect((await s.list({ state: 'waiting' })).jobs.map((j) => j.id).sort()).toEqual([ids.id, ids.children[1]!.id].sort());
    expect((await s.list({ parentId: ids.id })).jobs.map((j) => j.id)).toEqual([ids.children[1]!.id, ids.children[0]!.id]);
    expect((await s.stats()).find((st) => st.queue === 'q')).toMatchObject({ waiting: 2, available: 2, scheduled: 0 });
    // Only the leaves are claimed; waiting parents never are.
    expect(await runDue()).toEqual(['a', 'b1']);
    expect(await stateOf(ids.children[1]!.id)).toBe('available');
    expect(await stateOf(ids.id)).toBe('waiting');
    expect(await runDue()).toEqual(['b']);
    expect(await stateOf(ids.id)).toBe('available');
    expect(await runDue()).toEqual(['album']);
    expect(await runDue()).toEqual([]);
    expect((await s.stats()).find((st) => st.queue === 'q')).toMatchObject({ waiting: 0, available: 0, running: 0 });
  });

  it('children() gives each child with its state and stored result', async () => {
    const ids = await s.enqueueFlow!(node('p', [node('a'), node('b')], 'continue'));
    const [a, b] = await s.claim('q', 'w1', 2, 30_000);
    await s.complete([{ id: a!.id, workerId: 'w1', result: '{"n":42}' }]);
    await s.fail([{ id: b!.id, workerId: 'w1', error: error('boom'), retryDelayMs: null }]);
    const kids = await s.children!(ids.id);
    expect(kids.map((k) => [k.id, k.state])).toEqual([[a!.id, 'completed'], [b!.id, 'dead']]);
    expect(kids[0]!.result).toEqual({ n: 42 });
    expect(kids[1]!.lastError!.message).toBe('boom');
    expect(await stateOf(ids.id)).toBe('available');
  });

  it("onChildFailure 'fail': a dead child ends the parent dead, naming it, and cancels the pending siblings", async () => {
    const ids = await s.enqueueFlow!(node('p', [node('a', [], 'fail', 'qa'), node('b', [], 'fail', 'qb'), node('c', [node('c1', [], 'fail', 'qc')], 'fail', 'qb')]));
    const [a] = await s.claim('qa', 'w1', 1, 30_000);
    await s.fail([{ id: a!.id, workerId: 'w1', error: error(), retryDelayMs: null }]);
    const parent = (await s.get(ids.id))!;
    expect(parent.state).toBe('dead');
    expect(parent.lastError!.message).toContain(`child job ${a!.id}`);
    expect(await stateOf(ids.children[1]!.id)).toBe('cancelled');
    expect(await stateOf(ids.children[2]!.id)).toBe('cancelled');
    expect(await stateOf(ids.children[2]!.children[0]!.id)).toBe('cancelled');
    expect(await s.claim('qb', 'w1', 10, 30_000)).toEqual([]);
    expect(await s.claim('qc', 'w1', 10, 30_000)).toEqual([]);
    const stats = await s.stats();
    for (const queue of ['q', 'qb', 'qc']) expect(stats.find((st) => st.queue === queue)).toMatchObject({ waiting: 0, available: 0 });
    expect(stats.find((st) => st.queue === 'q')).toMatchObject({ dead: 1 });
  });

  it("onChildFailure 'fail' moves up: a parent that ends dead fails its own parent", async () => {
    const ids = await s.enqueueFlow!(node('root', [node('mid', [node('leaf')])]));
    const [leaf] = await s.claim('q', 'w1', 1, 30_000);
    await s.fail([{ id: leaf!.id, workerId: 'w1', error: error(), retryDelayMs: null }]);
    expect(await stateOf(ids.children[0]!.id)).toBe('dead');
    expect(await stateOf(ids.id)).toBe('dead');
  });

  it("onChildFailure 'ignore' and 'continue': the parent runs anyway", async () => {
    for (const mode of ['ignore', 'continue'] as const) {
      const ids = await s.enqueueFlow!(node(`p-${mode}`, [node('a', [], 'fail', `q-${mode}`), node('b', [], 'fail', `q-${mode}`)], mode));
      const [a, b] = await s.claim(`q-${mode}`, 'w1', 2, 30_000);
      await s.fail([{ id: a!.id, workerId: 'w1', error: error(), retryDelayMs: null }]);
      expect(await stateOf(ids.id)).toBe('waiting');
      await s.complete([{ id: b!.id, workerId: 'w1' }]);
      expect(await stateOf(ids.id)).toBe('available');
    }
  });

  it('a retryable child keeps its parent waiting; only its final outcome counts', async () => {
    const ids = await s.enqueueFlow!(node('p', [node('a')]));
    const [a] = await s.claim('q', 'w1', 1, 30_000);
    await s.fail([{ id: a!.id, workerId: 'w1', error: error(), retryDelayMs: 0 }]);
    expect(await stateOf(ids.id)).toBe('waiting');
    const [again] = await s.claim('q', 'w1', 1, 30_000);
    expect(again!.id).toBe(a!.id);
    await s.complete([{ id: a!.id, workerId: 'w1' }]);
    expect(await stateOf(ids.id)).toBe('available');
  });

  it('a child cancelled while pending counts as failed; cancel of a waiting parent cancels its pending descendants', async () => {
    const one = await s.enqueueFlow!(node('p', [node('a'), node('b')], 'ignore'));
    await s.cancel(one.children[0]!.id);
    expect(await stateOf(one.id)).toBe('waiting');
    await s.cancel(one.children[1]!.id);
    expect(await stateOf(one.id)).toBe('available');

    const two = await s.enqueueFlow!(node('root', [node('mid', [node('leaf', [], 'fail', 'q2')], 'fail', 'q2'), node('running', [], 'fail', 'q3')], 'fail', 'q2'));
    const [running] = await s.claim('q3', 'w1', 1, 30_000);
    const cancelled = await s.cancel(two.id);
    expect(cancelled!.state).toBe('cancelled');
    expect(await stateOf(two.children[0]!.id)).toBe('cancelled');
    expect(await stateOf(two.children[0]!.children[0]!.id)).toBe('cancelled');
    expect((await s.get(running!.id))!.cancelRequested).toBe(true);
    expect(await s.claim('q2', 'w1', 10, 30_000)).toEqual([]);
    expect((await s.stats()).find((st) => st.queue === 'q2')).toMatchObject({ waiting: 0, available: 0 });
  });

  it('a child whose worker died counts once the rescuer ends it', async () => {
    const ids = await s.enqueueFlow!({ job: newJob({ name: 'p' }), onChildFailure: 'continue', children: [{ job: newJob({ name: 'a', maxAttempts: 1 }), onChildFailure: 'fail', children: [] }] });
    await s.claim('q', 'w1', 1, 1);
    await h.advance(50);
    await s.rescue();
    expect(await stateOf(ids.children[0]!.id)).toBe('dead');
    expect(await stateOf(ids.id)).toBe('available');
  });

  it('a release that ends a child cancelled (cancel requested while it ran) counts it', async () => {
    const ids = await s.enqueueFlow!(node('p', [node('a')], 'ignore'));
    const [a] = await s.claim('q', 'w1', 1, 30_000);
    await s.cancel(a!.id);
    await s.release([a!.id], 'w1');
    expect(await stateOf(a!.id)).toBe('cancelled');
    expect(await stateOf(ids.id)).toBe('available');
  });

  it('prune keeps a finished child while its parent waits', async () => {
    const ids: FlowIds = await s.enqueueFlow!(node('p', [node('a'), node('b')]));
    const [a] = await s.claim('q', 'w1', 1, 30_000);
    await s.complete([{ id: a!.id, workerId: 'w1' }]);
    await h.advance(20);
    expect(await s.prune({ olderThan: new Date(Date.now() + 3_600_000), states: ['completed'] })).toBe(0);
    expect(await s.get(a!.id)).not.toBeNull();
    await runDue();
    expect(await stateOf(ids.id)).toBe('available');
  });

  it('many children finished in one batch wake the parent exactly once', async () => {
    const ids = await s.enqueueFlow!(node('p', Array.from({ length: 30 }, (_, i) => node(`c${i}`))));
    const claimed = await s.claim('q', 'w1', 30, 30_000);
    expect(claimed).toHaveLength(30);
    await s.complete(claimed.map((j) => ({ id: j.id, workerId: 'w1' })));
    expect(await stateOf(ids.id)).toBe('available');
    const [p] = await s.claim('q', 'w1', 10, 30_000);
    expect(p!.id).toBe(ids.id);
    expect(await s.claim('q', 'w1', 10, 30_000)).toEqual([]);
  });
}
