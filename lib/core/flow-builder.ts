import { InvalidOptionsError } from '../errors/invalid-options.error.js';
import type { EnqueueOptions } from './enqueue-options.js';
import {
  ON_CHILD_FAILURE,
  type ChildOutcome,
  type FlowTree,
  type JobRecord,
  type NewFlowNode,
  type NewJob,
  type OnChildFailure,
} from './job-record.js';
import type { JobToken } from './job-token.js';
import { knownKeys, assertKnownKeys } from './known-keys.js';
import type { Storage } from './storage.js';

/** Deepest nesting of a flow: the root is depth 1. */
export const MAX_FLOW_DEPTH = 32;
/** Jobs per `flow()` call. */
export const MAX_FLOW_NODES = 10_000;

/** One node of a flow as the caller gives it (`QueueService.flow`). */
export interface FlowNode<TPayload = unknown> {
  job: string | JobToken<TPayload>;
  payload: TPayload;
  /** As for `enqueue`, without `manager` (the whole flow's) and unique keys (a flow's jobs are all new). */
  options?: Omit<EnqueueOptions, 'manager' | 'uniqueKey' | 'unique'>;
  /** What a child ending dead or cancelled does to this node (default `'fail'`). */
  onChildFailure?: OnChildFailure;
  children?: FlowNode[];
}

export const FLOW_NODE_KEYS = knownKeys<FlowNode>({ job: true, payload: true, options: true, onChildFailure: true, children: true });
export const FLOW_OPTION_KEYS = knownKeys<{ manager?: unknown }>({ manager: true });

type BuildJob = (job: FlowNode['job'], payload: unknown, options: EnqueueOptions, where: string) => NewJob | Promise<NewJob>;

/**
 * Validates a whole flow (shape, depth, size, every job as `enqueue` would) before anything
 * is stored, and shapes it for `Storage.enqueueFlow`. The API builds trees, so no cycle can
 * be expressed; an object given twice is refused (it would be two jobs with one identity).
 */
export async function buildFlow(
  root: unknown,
  build: BuildJob,
): Promise<{ tree: NewFlowNode; jobs: NewJob[]; options: Array<Omit<EnqueueOptions, 'manager'>> }> {
  const seen = new Set<object>();
  const jobs: NewJob[] = [];
  const jobOptions: Array<Omit<EnqueueOptions, 'manager'>> = [];
  const visit = async (node: unknown, where: string, depth: number): Promise<NewFlowNode> => {
    if (typeof node !== 'object' || node === null || Array.isArray(node)) throw new InvalidOptionsError(where, 'expected { job, payload, options?, onChildFailure?, children? }');
    if (seen.has(node)) throw new InvalidOptionsError(where, 'the same node object appears twice in the flow; give each job its own node');
    seen.add(node);
    if (depth > MAX_FLOW_DEPTH) throw new InvalidOptionsError(where, `a flow is at most ${MAX_FLOW_DEPTH} levels deep`);
    if (seen.size > MAX_FLOW_NODES) throw new InvalidOptionsError('flow', `at most ${MAX_FLOW_NODES} jobs per flow() call; split the work`);
    assertKnownKeys(node, FLOW_NODE_KEYS, where, `${where}.`);
    const n = node as FlowNode;
    const options = n.options ?? {};
    if (typeof options !== 'object' || options === null) throw new InvalidOptionsError(`${where}.options`, 'expected an object');
    for (const key of ['manager', 'uniqueKey', 'unique'] as const) {
      if (key in options) {
        throw new InvalidOptionsError(`${where}.options.${key}`, key === 'manager' ? "goes in flow()'s second argument ({ manager }), for the whole flow" : 'a flow stores new jobs only: unique keys are not taken in flows');
      }
    }
    const onChildFailure = n.onChildFailure ?? 'fail';
    if (!ON_CHILD_FAILURE.includes(onChildFailure)) throw new InvalidOptionsError(`${where}.onChildFailure`, "expected 'fail', 'ignore' or 'continue'");
    const children = n.children ?? [];
    if (!Array.isArray(children)) throw new InvalidOptionsError(`${where}.children`, 'expected an array of nodes');
    const job = await build(n.job, n.payload, options, `${where}.options`);
    jobs.push(job);
    jobOptions.push(options);
    const kids: NewFlowNode[] = [];
    for (let i = 0; i < children.length; i++) kids.push(await visit(children[i], `${where}.children[${i}]`, depth + 1));
    return { job, onChildFailure, children: kids };
  };
  const tree = await visit(root, 'flow', 1);
  return { tree, jobs, options: jobOptions };
}

export function childOutcome(job: JobRecord): ChildOutcome {
  return {
    id: job.id,
    name: job.name,
    state: job.state,
    result: job.state === 'completed' ? job.result : null,
    error: job.state === 'completed' ? null : job.lastError,
  };
}

/** The stored tree under `id` with each job's record, or null when there is no such job. */
export async function readFlow(storage: Storage, id: string): Promise<FlowTree | null> {
  const job = await storage.get(id);
  if (!job) return null;
  const root: FlowTree = { job, children: [] };
  if (!storage.children) return root;
  let level = [root];
  for (let depth = 1; level.length && depth <= MAX_FLOW_DEPTH; depth++) {
    const next: FlowTree[] = [];
    for (const node of level) {
      for (const child of await storage.children(node.job.id)) {
        const sub: FlowTree = { job: child, children: [] };
        node.children.push(sub);
        next.push(sub);
      }
    }
    level = next;
  }
  return root;
}
