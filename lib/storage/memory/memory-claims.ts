import type { JobRecord, JobState } from '../../core/job-record.js';
import { PENDING_STATES } from '../../core/job-record.js';

/** Claims and leases in memory: a queue's due jobs in claim order, and a job's lease taken, checked and given up. */

const pending = new Set<JobState>(PENDING_STATES);

/** Up to `limit` jobs of `queue` (of `group`, when given) due at `now`: by priority, then runAt, then id. */
export function dueInClaimOrder(jobs: Iterable<JobRecord>, queue: string, now: number, limit: number, group?: string | null): JobRecord[] {
  const due: JobRecord[] = [];
  for (const job of jobs) {
    if (job.queue === queue && pending.has(job.state) && job.runAt.getTime() <= now && (group === undefined || job.group === group)) due.push(job);
  }
  due.sort((a, b) => a.priority - b.priority || a.runAt.getTime() - b.runAt.getTime() || Number(a.id) - Number(b.id));
  return due.slice(0, limit);
}

/**
 * Takes the lease: running, one more attempt, held by `workerId` until `now + leaseMs`;
 * `prefetched` when it goes to the worker's buffer rather than starting at once.
 */
export function takeLease(job: JobRecord, workerId: string, now: number, leaseMs: number, prefetched = false): void {
  job.state = 'running';
  job.attempt += 1;
  job.lockedBy = workerId;
  job.lockedUntil = new Date(now + leaseMs);
  job.startedAt = new Date(now);
  job.prefetched = prefetched;
}

/** The job, if `workerId` holds its lease: every write after a claim is guarded by this. */
export function heldBy(jobs: ReadonlyMap<string, JobRecord>, id: string, workerId: string): JobRecord | undefined {
  const job = jobs.get(id);
  return job && job.state === 'running' && job.lockedBy === workerId ? job : undefined;
}

/** Gives the lease up, and any cancel request and prefetch mark with it. */
export function unlock(job: JobRecord): void {
  job.lockedBy = null;
  job.lockedUntil = null;
  job.cancelRequested = false;
  job.prefetched = false;
}
