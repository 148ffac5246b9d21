import type { JobRecord, JobState } from '../../core/job-record.js';
import type { HeartbeatResult } from '../../core/storage.js';
import { PENDING_STATES } from '../../core/job-record.js';

/** Claims and leases in memory: a queue's due jobs in claim order, and a job's lease taken, checked, given up, handed back and expired. */

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

/**
 * A held job handed back (`Storage.release`): waiting again without the attempt counted (at
 * `runAt` when given, even one already past), or cancelled when that was requested while it ran.
 */
export function handBack(job: JobRecord, now: number, runAt: Date | undefined, interrupted: boolean): void {
  if (job.cancelRequested) {
    // Cancelled while it ran (an unschedule() during a tick): it ends here, never to run again.
    job.state = 'cancelled';
    job.failedAt = new Date(now);
  } else if (runAt) {
    // A time already past still replaces the old one: a schedule row's next tick, late.
    job.state = runAt.getTime() > now ? 'scheduled' : 'available';
    job.runAt = new Date(runAt.getTime());
  } else {
    job.state = 'available';
  }
  job.attempt = Math.max(0, job.attempt - 1);
  if (interrupted) job.interruptions++;
  unlock(job);
}

/** A running job whose lease expired (`Storage.rescue`), returned: waiting again, cancelled, or dead when out of attempts. */
export function expireLease(job: JobRecord, now: number): JobState {
  const { cancelRequested, prefetched } = job;
  unlock(job);
  if (prefetched) {
    // It never started: the crash costs it no attempt (and, from now on, its start is
    // recorded before it runs, so a second crash does).
    job.attempt = Math.max(0, job.attempt - 1);
    job.rescuedUnstarted = true;
  }
  if (cancelRequested) {
    job.state = 'cancelled';
    job.failedAt = new Date(now);
  } else if (!prefetched && job.maxAttempts !== null && job.attempt >= job.maxAttempts) {
    job.state = 'dead';
    job.failedAt = new Date(now);
    job.lastError = {
      name: 'LeaseExpired',
      message: 'The worker running this job stopped renewing its lease (crashed or stalled), and no attempts are left.',
      attempt: job.attempt,
      at: new Date(now).toISOString(),
    };
  } else {
    job.state = 'available';
    job.runAt = new Date(now);
  }
  return job.state;
}

/** A heartbeat (`Storage.heartbeat`): the leases `workerId` still holds renewed until `until`, the starts of `started` recorded. */
export function renewLeases(jobs: ReadonlyMap<string, JobRecord>, ids: string[], workerId: string, until: Date, started: string[]): HeartbeatResult {
  const lost: string[] = [];
  const cancelled: string[] = [];
  const startedSet = new Set(started);
  for (const id of ids) {
    const job = heldBy(jobs, id, workerId);
    if (!job) {
      lost.push(id);
      continue;
    }
    job.lockedUntil = until;
    if (startedSet.has(id)) job.prefetched = false;
    if (job.cancelRequested) cancelled.push(id);
  }
  return { lost, cancelled };
}
