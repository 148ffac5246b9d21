/**
 * How many jobs a queue's runner claims ahead of its free slots (its prefetch buffer). An
 * explicit `prefetch` is used as it is (`FixedPrefetch`); without one the runner sizes the
 * buffer from what it observes (`AdaptivePrefetch`).
 */
export interface PrefetchSizer {
  /** The size follows what the runner observes (else it never changes). */
  readonly adaptive: boolean;
  /** The buffer size to claim up to, at `now`, given when each running handler started. */
  size(now: number, runningSince: Iterable<number>): number;
  /** A handler ran `ms` from its start to its slot being free. */
  finished(ms: number): void;
  /** A claim took `ms` from its call to its answer. */
  claimed(ms: number): void;
  /** How many of `buffered` jobs to hand back, because they would wait too long for a slot here. */
  excess(now: number, runningSince: Iterable<number>, buffered: number): number;
}

export class FixedPrefetch implements PrefetchSizer {
  readonly adaptive = false;

  constructor(private readonly prefetch: number) {}

  size(): number {
    return this.prefetch;
  }

  finished(): void {}

  claimed(): void {}

  excess(): number {
    return 0;
  }
}

/** The rule's constants, in one place. */
export const ADAPTIVE_PREFETCH = {
  /** The buffer holds this much of the slots' work: claims come in batches, yet few jobs wait in it. */
  bufferMs: 100,
  /** …and at least this many claim round trips' worth, so the buffer does not run dry while a slow claim is out. */
  claimRoundTrips: 4,
  /** The largest buffer (or the concurrency, when larger): past it a claim costs more than it saves. */
  max: 500,
  /** Weight of the newest sample in the moving averages of run and claim times. */
  weight: 0.2,
  /** A handler running this many times the average run time (and over `bufferMs`) is stalled: its slot frees no work. */
  stallFactor: 4,
  /** Run times are measured in whole ms: a run shorter than this counts as this long. */
  minRunMs: 0.05,
  /**
   * Buffered jobs that would wait longer than this for a slot, at the present pace, go back
   * to the queue (checked at each heartbeat): they were claimed while jobs were short.
   */
  handBackAfterMs: 1000,
  /** While the buffer is above its low water, the runner sizes it again at most this often. */
  resizeEveryMs: 5,
} as const;

/**
 * Sizes the buffer so that it holds about `bufferMs` of the slots' work: the slots run one job
 * per average run time each, so the buffer is `slots × bufferMs / average run time`, between 0
 * and `max`. Short jobs are claimed in large batches (a claim is one round trip however many
 * rows it takes); long jobs are hardly buffered at all, so that no instance holds jobs that
 * another one's free slots could run. When claims get slow, the buffer grows to cover
 * `claimRoundTrips` of them, so the slots do not run dry while a claim is out.
 *
 * The estimate reacts before long jobs finish: a slot whose handler has run far longer than
 * the average (`stallFactor`) counts for nothing, so a queue whose jobs turn slow stops
 * buffering as soon as its slots are taken by them. Before any job has finished, the buffer
 * is the concurrency.
 */
export class AdaptivePrefetch implements PrefetchSizer {
  readonly adaptive = true;
  private avgRunMs: number | null = null;
  private avgClaimMs = 0;
  private readonly max: number;

  /** `slots`: the slots it may use now (fewer than `concurrency` while a global concurrency holds it back). */
  constructor(
    concurrency: number,
    private readonly slots: () => number = () => concurrency,
  ) {
    this.max = Math.max(ADAPTIVE_PREFETCH.max, concurrency);
  }

  finished(ms: number): void {
    this.avgRunMs = this.avgRunMs === null ? ms : this.avgRunMs + ADAPTIVE_PREFETCH.weight * (ms - this.avgRunMs);
  }

  claimed(ms: number): void {
    this.avgClaimMs += ADAPTIVE_PREFETCH.weight * (ms - this.avgClaimMs);
  }

  size(now: number, runningSince: Iterable<number>): number {
    return this.sizeFor(this.bufferMs(), this.activeSlots(now, runningSince));
  }

  /**
   * A buffer filled while jobs were short holds, once they turn long, jobs that wait here
   * while other instances' slots may be free: past `handBackAfterMs` of waiting at the
   * present pace, all but `size` go back to the queue (without counting an attempt).
   */
  excess(now: number, runningSince: Iterable<number>, buffered: number): number {
    const slots = this.activeSlots(now, runningSince);
    if (slots > 0 && this.avgRunMs === null) return 0;
    const waitMs = slots > 0 ? (buffered * this.avgRunMs!) / slots : Infinity;
    return waitMs > ADAPTIVE_PREFETCH.handBackAfterMs ? Math.max(0, buffered - this.sizeFor(this.bufferMs(), slots)) : 0;
  }

  private bufferMs(): number {
    return Math.max(ADAPTIVE_PREFETCH.bufferMs, ADAPTIVE_PREFETCH.claimRoundTrips * this.avgClaimMs);
  }

  /** Slots that free work: the slots it may use less those whose handlers stalled. */
  private activeSlots(now: number, runningSince: Iterable<number>): number {
    const bufferMs = this.bufferMs();
    const stallMs = this.avgRunMs === null ? bufferMs : Math.max(ADAPTIVE_PREFETCH.stallFactor * this.avgRunMs, bufferMs);
    let slots = this.slots();
    for (const since of runningSince) if (now - since > stallMs) slots--;
    return Math.max(0, slots);
  }

  private sizeFor(bufferMs: number, slots: number): number {
    if (this.avgRunMs === null) return slots;
    return Math.min(this.max, Math.round((slots * bufferMs) / Math.max(this.avgRunMs, ADAPTIVE_PREFETCH.minRunMs)));
  }
}

/** The sizer for a queue: `prefetch` as given, or the adaptive one when it is not set. */
export function prefetchSizer(concurrency: number, prefetch: number | undefined, slots?: () => number): PrefetchSizer {
  return prefetch === undefined ? new AdaptivePrefetch(concurrency, slots) : new FixedPrefetch(prefetch);
}
