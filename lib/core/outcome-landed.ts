import type { JobErrorInfo, JobRecord } from './job-record.js';

/**
 * Whether an outcome write whose first try failed (the connection dropped) had landed after
 * all, read from the job's row. A retry of such a write finds the job no longer held, whether
 * its first try committed or another worker took the job; the row tells the two apart.
 */

/**
 * The row shows this attempt's completion: completed, at this attempt. Any later run of the
 * job (after a rescue) was claimed with a higher attempt, and only the holder completes it.
 */
export function completedBy(job: JobRecord | null, attempt: number): boolean {
  return job !== null && job.state === 'completed' && job.attempt === attempt;
}

/** The row holds this failure: its last error is this one (same attempt, time and message). */
export function failedWith(job: JobRecord | null, error: JobErrorInfo): boolean {
  const last = job?.lastError;
  return !!last && last.attempt === error.attempt && last.at === error.at && last.message === error.message;
}
