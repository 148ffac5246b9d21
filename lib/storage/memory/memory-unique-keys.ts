import type { JobRecord, UniqueWhile } from '../../core/job-record.js';
import { UNIQUE_STATES } from '../../core/job-record.js';

/** Unique keys in memory: which job holds a key now, and when a job gives its key up for good. */
export class MemoryUniqueKeys {
  private readonly uniqueWhile = new Map<string, UniqueWhile>();
  /** Jobs that gave their unique key up (left their unique states); they never take it back on their own. */
  private readonly keyReleased = new Set<string>();

  constructor(private readonly jobs: ReadonlyMap<string, JobRecord>) {}

  /** A new job with a unique key holds it while it is in the states of `mode`. */
  hold(id: string, mode: UniqueWhile): void {
    this.uniqueWhile.set(id, mode);
  }

  holderOf(uniqueKey: string): JobRecord | undefined {
    for (const other of this.jobs.values()) {
      if (other.uniqueKey !== uniqueKey || this.keyReleased.has(other.id)) continue;
      const states = UNIQUE_STATES[this.uniqueWhile.get(other.id) ?? 'running'];
      if (states.includes(other.state)) return other;
    }
    return undefined;
  }

  /** After a state change: a job out of its unique states gives its key up for good. */
  track(job: JobRecord): void {
    const mode = this.uniqueWhile.get(job.id);
    if (mode && !UNIQUE_STATES[mode].includes(job.state)) this.keyReleased.add(job.id);
  }

  /** `retry()`: the job takes its unique key back only if no other job holds it meanwhile. */
  reacquire(job: JobRecord): void {
    if (job.uniqueKey && this.keyReleased.has(job.id) && !this.holderOf(job.uniqueKey)) this.keyReleased.delete(job.id);
  }

  /** The job was pruned. */
  forget(id: string): void {
    this.uniqueWhile.delete(id);
    this.keyReleased.delete(id);
  }
}
