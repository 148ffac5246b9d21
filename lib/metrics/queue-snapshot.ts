import type { OldestAvailable, QueueStats } from '../core/storage.js';

/** What the queue gauges read from the storage: `stats()` and the oldest waiting job per queue. */
export interface QueueSnapshot {
  stats: QueueStats[];
  oldest: OldestAvailable[];
}

export interface SnapshotSource {
  stats(): Promise<QueueStats[]>;
  oldestAvailable(queues?: string[]): Promise<OldestAvailable[]>;
}

/**
 * The cluster-wide queue state, read from the storage at most once per `ttlMs`: every scrape
 * within it (and every gauge of one scrape) shares one read, and concurrent scrapes share the
 * read in flight. `stats()` reads roll-up counters, `oldestAvailable()` a few index probes per
 * queue with due work, so a read stays cheap however many jobs wait. A failed read is not cached.
 */
export class CachedQueueSnapshot {
  private cached: { at: number; value: Promise<QueueSnapshot> } | null = null;

  constructor(
    private readonly source: SnapshotSource,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  read(): Promise<QueueSnapshot> {
    const now = this.now();
    if (this.cached && now - this.cached.at < this.ttlMs) return this.cached.value;
    const value = this.load();
    const entry = { at: now, value };
    this.cached = entry;
    value.catch(() => {
      if (this.cached === entry) this.cached = null;
    });
    return value;
  }

  private async load(): Promise<QueueSnapshot> {
    const stats = await this.source.stats();
    const waiting = stats.filter((s) => s.available > 0).map((s) => s.queue);
    const oldest = waiting.length ? await this.source.oldestAvailable(waiting) : [];
    return { stats, oldest };
  }
}
