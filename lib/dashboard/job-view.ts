import type { JobRecord } from '../core/job-record.js';

/** A job as the JSON API returns it: the stored record, with payload, result and progress data left out when redacted. */
export type JobView = JobRecord & { redacted: boolean };

export function jobView(job: JobRecord, redact: boolean): JobView {
  if (!redact) return { ...job, redacted: false };
  return { ...job, payload: null, result: null, progressData: null, redacted: true };
}
