import type { Subject } from 'rxjs';
import type { Clock } from '../../core/clock.js';
import type { FlowIds, JobRecord, JobState, NewFlowNode, OnChildFailure } from '../../core/job-record.js';
import { PENDING_STATES } from '../../core/job-record.js';

const pending = new Set<JobState>(PENDING_STATES);
const failed = new Set<JobState>(['dead', 'cancelled']);
const finished = new Set<JobState>(['completed', 'dead', 'cancelled']);
/** Levels of a flow that `resume` walks (see `MAX_FLOW_DEPTH`). */
const MAX_LEVELS = 64;

interface ParentLink {
  /** Children not finished yet. */
  pending: number;
  onChildFailure: OnChildFailure;
}

/**
 * Flows in memory: which parent waits for how many children, and what a finishing child does
 * to it. Every finishing transition of the storage calls `finished(job)` in the same
 * synchronous step as its own change, so nothing can run in between. A child counts into its
 * parent once (`counted`, as `child_status` on the SQL storages): a child retried after it
 * was counted does not count again, unless its parent is retried (`resume`).
 */
export class MemoryFlows {
  private readonly parents = new Map<string, ParentLink>();
  private readonly counted = new Set<string>();

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

  /** Call after `job` entered a finished state. Counts its parent down (once), or ends it (onChildFailure 'fail'). */
  finished(job: JobRecord): void {
    if (finished.has(job.state)) this.onFinished(job);
    if (!finished.has(job.state) || job.parentId == null || this.counted.has(job.id)) return;
    this.counted.add(job.id);
    this.countDown(job.parentId, job);
  }

  /** One child of the waiting `parentId` has finished: `child` ended so (null: completed). */
  private countDown(parentId: string, child: JobRecord | null): void {
    const parent = this.jobs.get(parentId);
    const link = this.parents.get(parentId);
    if (!parent || !link || parent.state !== 'waiting') return;
    const now = this.clock.now();
    link.pending--;
    if (child && failed.has(child.state) && link.onChildFailure === 'fail') {
      parent.state = 'dead';
      parent.failedAt = new Date(now);
      parent.lastError = {
        name: 'ChildFailed',
        message: `child job ${child.id} (${child.name}) ended ${child.state}`,
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
        this.counted.add(child.id);
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
      for (const k of kids) this.counted.add(k.id);
      this.countDown(id, kids.find((k) => failed.has(k.state)) ?? null);
      moved++;
    }
    return moved;
  }

  /**
   * A parent that ended while it waited for its children (dead because one failed, or
   * cancelled): it never ran in this life (a claim counts an attempt; `retry` resets them).
   */
  endedWaiting(job: JobRecord): boolean {
    return this.parents.has(job.id) && failed.has(job.state) && job.attempt === 0;
  }

  /**
   * `retry` of a parent that `endedWaiting` (see `Storage.retry`): it waits again for its
   * children that have not completed, each counted once when it finishes; its dead and
   * cancelled children are retried (`retryJob`), a child that itself ended waiting the same
   * way. Returns false, changing nothing, when every child completed.
   */
  resume(parent: JobRecord, retryJob: (job: JobRecord) => void, depth = 0): boolean {
    const kids = this.children(parent.id);
    const open = kids.filter((k) => k.state !== 'completed');
    if (!open.length) return false;
    parent.state = 'waiting';
    parent.attempt = 0;
    parent.interruptions = 0;
    parent.completedAt = null;
    parent.failedAt = null;
    parent.cancelRequested = false;
    this.parents.get(parent.id)!.pending = open.length;
    for (const k of kids) {
      if (k.state === 'completed') this.counted.add(k.id);
      else this.counted.delete(k.id);
    }
    for (const k of open) {
      if (!failed.has(k.state)) continue;
      if (depth < MAX_LEVELS && this.endedWaiting(k) && this.resume(k, retryJob, depth + 1)) continue;
      retryJob(k);
    }
    return true;
  }
}
