import type { Clock } from '../../core/clock.js';
import type { JobRecord, UniqueWhile } from '../../core/job-record.js';
import { UNIQUE_STATES } from '../../core/job-record.js';

/**
 * Unique keys in memory: which job holds a key now, and when a job gives its key up for good.
 * A job holds its key while it is in the states of its `uniqueWhile` and, when it was enqueued
 * with a window, until that window ends on the storage's clock.
 */
export class MemoryUniqueKeys {
  private readonly uniqueWhile = new Map<string, UniqueWhile>();
  /** When the window of a job enqueued with `uniqueTtlMs` ends (epoch ms, the storage's clock). */
  private readonly until = new Map<string, number>();
  /** Jobs that gave their unique key up (left their unique states); they never take it back on their own. */
  private readonly keyReleased = new Set<string>();

  constructor(
    private readonly jobs: ReadonlyMap<string, JobRecord>,
    private readonly clock: Clock,
  ) {}

  /** A new job with a unique key holds it while it is in the states of `mode`, and until `until` when given. */
  hold(id: string, mode: UniqueWhile, until: number | null): void {
    this.uniqueWhile.set(id, mode);
    if (until !== null) this.until.set(id, until);
  }

  holderOf(uniqueKey: string): JobRecord | undefined {
    const now = this.clock.now();
    for (const other of this.jobs.values()) {
      if (other.uniqueKey !== uniqueKey || this.keyReleased.has(other.id)) continue;
      const until = this.until.get(other.id);
      if (until !== undefined && until <= now) continue;
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

  /**
   * `retry()`: the job takes its unique key back only if no other job holds it meanwhile (a
   * window that has ended stays ended: such a job holds nothing either way).
   */
  reacquire(job: JobRecord): void {
    if (job.uniqueKey && this.keyReleased.has(job.id) && !this.holderOf(job.uniqueKey)) this.keyReleased.delete(job.id);
  }

  /** The job was pruned. */
  forget(id: string): void {
    this.uniqueWhile.delete(id);
    this.until.delete(id);
    this.keyReleased.delete(id);
  }
}
