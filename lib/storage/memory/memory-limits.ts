import type { JobRecord } from '../../core/job-record.js';
import { limitedClaim, recordStarts, type LimitState, type QueueLimits, type StoredQueueLimits } from '../../core/limits.js';

/** Queue limits in memory: the same rules (`core/limits.ts`) as the database storages apply in their claims. */
export class MemoryLimits {
  private readonly states = new Map<string, LimitState>();

  set(queue: string, limits: QueueLimits): void {
    const state = this.states.get(queue);
    if (state) state.limits = structuredClone(limits);
    else this.states.set(queue, { limits: structuredClone(limits), blockedUntil: null, starts: [] });
  }

  block(queue: string, until: number): void {
    const state = this.states.get(queue) ?? { limits: {}, blockedUntil: null, starts: [] };
    state.blockedUntil = Math.max(state.blockedUntil ?? 0, until);
    this.states.set(queue, state);
  }

  has(queue: string): boolean {
    return this.states.has(queue);
  }

  list(): StoredQueueLimits[] {
    return [...this.states].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([queue, s]) => ({
      queue,
      limits: structuredClone(s.limits),
      blockedUntil: s.blockedUntil === null ? null : new Date(s.blockedUntil),
    }));
  }

  /** The claim's size under `queue`'s limits (unchanged without any). */
  size(queue: string, jobs: Iterable<JobRecord>, now: number, limit: number, startNow: number): { limit: number; startNow: number } {
    const state = this.states.get(queue);
    if (!state) return { limit, startNow };
    let running = 0;
    if (state.limits.globalConcurrency !== undefined) for (const job of jobs) if (job.queue === queue && job.state === 'running') running++;
    return limitedClaim(state, now, running, limit, startNow);
  }

  /** Records `n` starts at `now` (for the rate limit). */
  started(queue: string, now: number, n: number): void {
    const state = this.states.get(queue);
    if (state) state.starts = recordStarts(state, now, n);
  }
}
