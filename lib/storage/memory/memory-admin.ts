import type { Subject } from 'rxjs';
import type { Clock } from '../../core/clock.js';
import type { JobRecord, JobState } from '../../core/job-record.js';
import { PENDING_STATES } from '../../core/job-record.js';
import type { ListFilter, ListPage, PruneOptions } from '../../core/storage.js';
import { InvalidOptionsError } from '../../errors/invalid-options.error.js';
import type { MemoryFlows } from './memory-flows.js';
import type { MemoryUniqueKeys } from './memory-unique-keys.js';

const pending = new Set<JobState>(PENDING_STATES);
const finished = new Set<JobState>(['completed', 'dead', 'cancelled']);

/** Admin in memory: list, cancel, retry and prune, the calls of an operator rather than a worker. */
export class MemoryAdmin {
  constructor(
    private readonly jobs: Map<string, JobRecord>,
    private readonly keys: MemoryUniqueKeys,
    private readonly clock: Clock,
    private readonly wake$: Subject<string>,
    private readonly cancel$: Subject<string>,
    private readonly flows: MemoryFlows,
  ) {}

  list(filter: ListFilter): ListPage {
    const limit = filter.limit ?? 100;
    const after = filter.cursor ? Number(filter.cursor) : Infinity;
    if (Number.isNaN(after)) throw new InvalidOptionsError('cursor', 'not a cursor returned by list()');
    const jobs = [...this.jobs.values()]
      .filter((j) => (!filter.queue || j.queue === filter.queue) && (!filter.state || j.state === filter.state) && (!filter.name || j.name === filter.name))
      .filter((j) => (filter.parentId === undefined || j.parentId === String(filter.parentId)) && (filter.batchId === undefined || j.batchId === String(filter.batchId)))
      .filter((j) => Number(j.id) < after)
      .sort((a, b) => Number(b.id) - Number(a.id))
      .slice(0, limit + 1);
    const page = jobs.slice(0, limit).map((j) => structuredClone(j));
    return { jobs: page, nextCursor: jobs.length > limit ? page[page.length - 1]!.id : null };
  }

  cancel(id: string): JobRecord | null {
    const job = this.jobs.get(String(id));
    if (!job) return null;
    if (pending.has(job.state) || job.state === 'waiting') {
      const wasWaiting = job.state === 'waiting';
      job.state = 'cancelled';
      job.failedAt = new Date(this.clock.now());
      this.keys.track(job);
      if (wasWaiting) this.flows.cancelDescendants(job.id);
      this.flows.finished(job);
    } else if (job.state === 'running' && !job.cancelRequested) {
      job.cancelRequested = true;
      this.cancel$.next(job.id);
    }
    return structuredClone(job);
  }

  runNow(id: string): JobRecord | null {
    const job = this.jobs.get(String(id));
    if (!job) return null;
    if (pending.has(job.state)) {
      job.state = 'available';
      job.runAt = new Date(Math.min(job.runAt.getTime(), this.clock.now()));
      this.wake$.next(job.queue);
    }
    return structuredClone(job);
  }

  /** See `Storage.retry`: a flow parent that ended while it waited waits again (`MemoryFlows.resume`). */
  retry(id: string): JobRecord | null {
    const job = this.jobs.get(String(id));
    if (!job) return null;
    if (job.state === 'running' || job.state === 'waiting' || pending.has(job.state)) return structuredClone(job);
    if (this.flows.endedWaiting(job) && this.flows.resume(job, (kid) => this.retryJob(kid))) return structuredClone(job);
    return this.retryJob(job);
  }

  /** A finished job back to `available`, due now, with fresh attempts. */
  private retryJob(job: JobRecord): JobRecord {
    job.state = 'available';
    job.attempt = 0;
    job.interruptions = 0;
    job.runAt = new Date(this.clock.now());
    job.completedAt = null;
    job.failedAt = null;
    job.cancelRequested = false;
    this.keys.reacquire(job);
    const copy = structuredClone(job);
    this.wake$.next(job.queue);
    return copy;
  }

  prune(options: PruneOptions): number {
    const before = options.olderThan.getTime();
    const states = new Set(options.states);
    let removed = 0;
    for (const [id, job] of this.jobs) {
      if (!states.has(job.state) || !finished.has(job.state)) continue;
      if (options.queue !== undefined && job.queue !== options.queue) continue;
      if (this.flows.heldByParent(job)) continue;
      const at = (job.completedAt ?? job.failedAt ?? job.createdAt).getTime();
      if (at < before) {
        this.jobs.delete(id);
        this.keys.forget(id);
        removed++;
      }
    }
    return removed;
  }
}
