import type { BatchInfo, BatchResult, FlowIds, JobState, NewBatch, NewFlowNode, NewJob } from '../../core/job-record.js';
import { InvalidOptionsError } from '../../errors/invalid-options.error.js';
import type { Dialect } from './dialect.js';
import type { FlowLinks, LinkNode } from './dialects/flow-links.js';
import { EnqueuePlan, insertPlanned, toInsertRow } from './enqueue-plan.js';
import type { Step } from './flow.js';
import { asNumber, asString } from './job-row.js';

type Run = <T>(step: Step<T>) => Promise<T>;

/**
 * Stores a flow level by level inside the caller's transaction (`run`): each level's jobs in
 * multi-row INSERTs as `enqueue` stores them, then `FlowLinks.link` gives the children their
 * parent and makes the parents wait. Nothing is claimable before the commit, so the order of
 * the writes inside it does not matter to workers. Returns the tree of ids and the queues of
 * the leaves (due at once).
 */
export async function storeFlow(root: NewFlowNode, dialect: Dialect, links: FlowLinks, run: Run): Promise<{ ids: FlowIds; leafQueues: string[] }> {
  const ids: FlowIds = { id: '', children: [] };
  const leafQueues = new Set<string>();
  let level: Array<{ node: NewFlowNode; out: FlowIds; parentId: string | null }> = [{ node: root, out: ids, parentId: null }];
  while (level.length) {
    const rows = level.map(({ node }) => {
      if (node.job.uniqueKey) throw new InvalidOptionsError('flow', 'a flow stores new jobs only: unique keys are not taken in flows');
      return toInsertRow(node.job);
    });
    const plan = new EnqueuePlan(rows);
    await insertPlanned(plan, dialect, run);
    const results = plan.finish();
    const linked: LinkNode[] = [];
    const next: typeof level = [];
    level.forEach((item, i) => {
      item.out.id = results[i]!.id;
      linked.push({ id: item.out.id, parentId: item.parentId, children: item.node.children.length, onChildFailure: item.node.onChildFailure });
      if (!item.node.children.length) leafQueues.add(item.node.job.queue);
      for (const child of item.node.children) {
        const out: FlowIds = { id: '', children: [] };
        item.out.children.push(out);
        next.push({ node: child, out, parentId: item.out.id });
      }
    });
    await run(links.link(linked));
    level = next;
  }
  return { ids, leafQueues: [...leafQueues] };
}

/** Stores a batch inside the caller's transaction (`run`): its row, the jobs as `enqueue` stores them, then their membership. */
export async function storeBatch(jobs: NewJob[], batch: NewBatch, dialect: Dialect, links: FlowLinks, run: Run): Promise<BatchResult> {
  const rows = jobs.map((job) => {
    if (job.uniqueKey) throw new InvalidOptionsError('batch', 'a batch stores new jobs only: unique keys are not taken in batches');
    return toInsertRow(job);
  });
  const batchId = await run(links.createBatch(rows.length, batch));
  const plan = new EnqueuePlan(rows);
  await insertPlanned(plan, dialect, run);
  const ids = plan.finish().map((r) => r.id);
  await run(links.joinBatch(batchId, ids));
  return { batchId, ids };
}

/** `Storage.getBatch` from `FlowLinks.getBatch`'s rows. */
export async function readBatch(id: string, links: FlowLinks, run: Run): Promise<BatchInfo | null> {
  const { batch, states } = await run(links.getBatch(id));
  if (!batch) return null;
  const byState: Partial<Record<JobState, number>> = {};
  for (const r of states) byState[asString(r.state) as JobState] = asNumber(r.n);
  return {
    id: String(batch.id),
    payload: JSON.parse(asString(batch.payload)) as unknown,
    counts: { total: asNumber(batch.total), completed: asNumber(batch.completed), dead: asNumber(batch.dead), cancelled: asNumber(batch.cancelled) },
    states: byState,
    fired: { complete: asNumber(batch.complete_fired) === 1, success: asNumber(batch.success_fired) === 1, failure: asNumber(batch.failure_fired) === 1 },
  };
}
