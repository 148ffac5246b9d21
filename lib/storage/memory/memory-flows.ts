import type { Subject } from 'rxjs';
import type { Clock } from '../../core/clock.js';
import type { FlowIds, JobRecord, JobState, NewFlowNode, OnChildFailure } from '../../core/job-record.js';
import { PENDING_STATES } from '../../core/job-record.js';

const pending = new Set<JobState>(PENDING_STATES);
const failed = new Set<JobState>(['dead', 'cancelled']);
const finished = new Set<JobState>(['completed', 'dead', 'cancelled']);

interface ParentLink {
  /** Children not finished yet. */
  pending: number;
  onChildFailure: OnChildFailure;
}

/**
 * Flows in memory: which parent waits for how many children, and what a finishing child does
 * to it. Every finishing transition of the storage calls `finished(job)` in the same
 * synchronous step as its own change, so nothing can run in between.
 */
export class MemoryFlows {
  private readonly parents = new Map<string, ParentLink>();

  constructor(
    private readonly jobs: Map<string, JobRecord>,
    private readonly clock: Clock,
    private readonly wake$: Subject<string>,
    private readonly cancel$: Subject<string>,
    private readonly died: (queue: string, now: number) => void,
    /** Told of every finished job too (batch counts). */
    private readonly onFinished: (job: JobRecord) => void = () => undefined,
  ) {}

  /** Stores the tree (`insert` stores one job and returns its id), parents `waiting`. */
  store(root: NewFlowNode, insert: (node: NewFlowNode) => string, parentId: string | null = null): FlowIds {
    const id = insert(root);
    const job = this.jobs.get(id)!;
    job.parentId = parentId;
    if (root.children.length) {
      job.state = 'waiting';
      this.parents.set(id, { pending: root.children.length, onChildFailure: root.onChildFailure });
    }
    return { id, children: root.children.map((child) => this.store(child, insert, id)) };
  }

  children(parentId: string): JobRecord[] {
    return [...this.jobs.values()].filter((j) => j.parentId === parentId).sort((a, b) => Number(a.id) - Number(b.id));
  }

  /** A finished child whose parent still waits: kept by `prune`. */
  heldByParent(job: JobRecord): boolean {
    return job.parentId != null && this.jobs.get(job.parentId)?.state === 'waiting';
  }

  /** Call after `job` entered a finished state. Counts its parent down, or ends it (onChildFailure 'fail'). */
  finished(job: JobRecord): void {
    if (finished.has(job.state)) this.onFinished(job);
    if (!finished.has(job.state) || job.parentId == null) return;
    const parent = this.jobs.get(job.parentId);
    const link = this.parents.get(job.parentId);
    if (!parent || !link || parent.state !== 'waiting') return;
    const now = this.clock.now();
    link.pending--;
    if (failed.has(job.state) && link.onChildFailure === 'fail') {
      parent.state = 'dead';
      parent.failedAt = new Date(now);
      parent.lastError = {
        name: 'ChildFailed',
        message: `child job ${job.id} (${job.name}) ended ${job.state}`,
        attempt: parent.attempt,
        at: new Date(now).toISOString(),
      };
      this.died(parent.queue, now);
      this.cancelDescendants(parent.id);
      this.finished(parent);
    } else if (link.pending <= 0) {
      parent.state = parent.runAt.getTime() > now ? 'scheduled' : 'available';
      this.wake$.next(parent.queue);
    }
  }

  /** `job` was cancelled while waiting: its pending descendants are cancelled too. */
  cancelDescendants(parentId: string): void {
    const now = this.clock.now();
    for (const child of this.children(parentId)) {
      if (pending.has(child.state) || child.state === 'waiting') {
        const wasWaiting = child.state === 'waiting';
        child.state = 'cancelled';
        child.failedAt = new Date(now);
        if (wasWaiting) this.cancelDescendants(child.id);
      } else if (child.state === 'running' && !child.cancelRequested) {
        child.cancelRequested = true;
        this.cancel$.next(child.id);
      }
    }
  }

  /**
   * The repair pass: a waiting parent whose children have all finished (possible only through
   * writes that bypassed this storage) is moved on as if its last child had just finished.
   */
  repair(): number {
    let moved = 0;
    for (const [id, link] of this.parents) {
      const parent = this.jobs.get(id);
      if (parent?.state !== 'waiting') continue;
      const kids = this.children(id);
      if (kids.some((k) => !finished.has(k.state))) continue;
      link.pending = 1;
      const lastFailed = kids.find((k) => failed.has(k.state));
      this.finished(lastFailed ?? kids[kids.length - 1] ?? { ...parent, state: 'completed', parentId: id });
      moved++;
    }
    return moved;
  }
}
