import type { StoredQueueLimits } from '../../core/limits.js';

/** How long this process trusts its list of limited queues before reading it again. */
export const LIMITED_QUEUES_REFRESH_MS = 1000;

/**
 * Which queues have a row in `queue_limit` (limits or a block), as this process last read it:
 * a claim of any other queue runs the dialect's plain claim, with no statement added. Read
 * again at most once per `refreshMs` (one small SELECT per process, whatever the number of
 * queues), and at once after this process changes a row; limits set by another instance are
 * followed within `refreshMs`.
 */
export class LimitedQueues {
  private names = new Set<string>();
  /** Those with a global concurrency; and those whose only limit it is (as last read). */
  private withSlots = new Set<string>();
  private slotsOnly = new Set<string>();
  private loadedAt = -Infinity;
  private loading: Promise<void> | null = null;

  constructor(
    private readonly load: () => Promise<StoredQueueLimits[]>,
    private readonly refreshMs = LIMITED_QUEUES_REFRESH_MS,
  ) {}

  async has(queue: string): Promise<boolean> {
    if (performance.now() - this.loadedAt >= this.refreshMs) await this.refresh();
    return this.names.has(queue);
  }

  /** Whether `queue` has a global concurrency (read again as `has` does; a queue touched here counts until then). */
  async hasGlobalConcurrency(queue: string): Promise<boolean> {
    if (performance.now() - this.loadedAt >= this.refreshMs) await this.refresh();
    return this.withSlots.has(queue);
  }

  /** Whether `queue`'s only limit was a global concurrency when last read (its claims need no lock: see `Dialect.claimUnlessLimited`). */
  onlyGlobalConcurrency(queue: string): boolean {
    return this.slotsOnly.has(queue);
  }

  /** What `has` would answer from the list as last read (no refresh). */
  known(queue: string): boolean {
    return this.names.has(queue);
  }

  /** This process changed `queue`'s row: it is limited from now on, and the list is read again at the next claim. */
  touched(queue: string): void {
    this.names.add(queue);
    this.loadedAt = -Infinity;
  }

  private refresh(): Promise<void> {
    this.loading ??= this.load()
      .then((rows) => {
        this.names = new Set(rows.map((r) => r.queue));
        this.withSlots = new Set(rows.filter((r) => r.limits.globalConcurrency !== undefined).map((r) => r.queue));
        this.slotsOnly = new Set(rows.filter((r) => this.withSlots.has(r.queue) && !r.limits.rateLimit && !r.limits.groups).map((r) => r.queue));
        this.loadedAt = performance.now();
      })
      .finally(() => {
        this.loading = null;
      });
    return this.loading;
  }
}
