import type { EngineLogger } from './engine-options.js';
import { completedBy, failedWith } from './outcome-landed.js';
import type { CompleteItem, FailItem, Storage } from './storage.js';

interface AckState {
  /** The attempt this worker ran (its claim's). */
  attempt: number;
  done: (held: boolean) => void;
  /** A write of this ack failed: it may have committed before the connection dropped. */
  retried: boolean;
}

type Ack = AckState & ({ kind: 'complete'; item: CompleteItem } | { kind: 'fail'; item: FailItem });

/** Rows read at once when checking whether a retried write had landed. */
const CHECK_CONCURRENCY = 8;

/**
 * Gathers completions and failures and writes them one statement per batch. Items wait
 * while a write is in flight; a failed write is retried with backoff (the jobs' leases are
 * kept alive meanwhile, since their ids stay in `pendingIds`). The retry of a write that may
 * have committed (the connection dropped before its answer) finds the jobs it wrote no longer
 * held: for those, and only those, the job's row says whether this worker's outcome is there.
 */
export class AckBatcher {
  private queue: Ack[] = [];
  private flushing: Promise<void> | null = null;
  private scheduled = false;
  private failures = 0;
  private writes = 0;
  /** Set by `abandon()`: nothing more is written or retried. */
  private abandoned = false;
  /** Ends the wait before the next retry early (`abandon()`). */
  private cancelWait: (() => void) | null = null;

  constructor(
    private readonly storage: Storage,
    private readonly batchSize: number,
    private readonly logger: EngineLogger,
    private readonly maxRetryWaitMs = 5000,
  ) {}

  /**
   * Queues the completion of `attempt` (the claim's); `done(held)` is called once it is
   * written (held: the lease was still ours).
   */
  complete(item: CompleteItem, attempt: number, done: (held: boolean) => void): void {
    this.push({ kind: 'complete', item, attempt, done, retried: false });
  }

  fail(item: FailItem, attempt: number): Promise<boolean> {
    return new Promise((done) => this.push({ kind: 'fail', item, attempt, done, retried: false }));
  }

  /** Ids whose outcome is not yet written: their leases must still be renewed. */
  pendingIds(): string[] {
    return this.queue.map((a) => a.item.id);
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Batches written so far: shutdown tells a slow drain (still writing) from a stuck one. */
  get written(): number {
    return this.writes;
  }

  /**
   * Resolves once everything queued so far is written. A failing write is retried until it
   * succeeds or `abandon()` is called: bound the wait (shutdown does, by the lease).
   */
  async drain(): Promise<void> {
    while ((this.queue.length || this.flushing) && !this.abandoned) {
      if (!this.flushing) this.flushing = this.flush();
      await this.flushing;
    }
  }

  /**
   * Stops writing and retrying for good (shutdown past its bound) and returns what was left
   * unwritten. Their `done` callbacks are never called: whether the outcome was recorded is
   * unknown to this instance. Their leases are no longer renewed, so they expire and the
   * rescuer returns those jobs (at-least-once: each may run again).
   */
  abandon(): Array<{ id: string; kind: 'complete' | 'fail' }> {
    this.abandoned = true;
    this.cancelWait?.();
    const left = this.queue.map((a) => ({ id: a.item.id, kind: a.kind }));
    this.queue = [];
    return left;
  }

  private push(ack: Ack): void {
    if (this.abandoned) return;
    this.queue.push(ack);
    if (this.scheduled || this.flushing) return;
    this.scheduled = true;
    // One tick of gathering: every handler that settles in this turn joins the batch.
    setImmediate(() => {
      this.scheduled = false;
      if (!this.flushing) this.flushing = this.flush();
    });
  }

  private async flush(): Promise<void> {
    try {
      while (this.queue.length && !this.abandoned) {
        const batch = this.queue.slice(0, this.batchSize);
        const completes = batch.filter((a) => a.kind === 'complete');
        const fails = batch.filter((a) => a.kind === 'fail');
        try {
          // Each group leaves the queue as soon as it is written, so a retry never writes it twice.
          if (completes.length) await this.write(completes, () => this.storage.complete(completes.map((a) => a.item as CompleteItem)));
          if (fails.length) await this.write(fails, () => this.storage.fail(fails.map((a) => a.item as FailItem)));
          this.failures = 0;
        } catch (err) {
          this.failures++;
          // Never wait long against the lease: an outcome written after the lease ran out is lost work.
          const wait = Math.min(this.maxRetryWaitMs, 50 * 2 ** Math.min(this.failures, 7));
          this.logger.error(
            `Could not record ${batch.length} job outcome(s); retrying in ${wait} ms: ${(err as Error).message}`,
          );
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, wait);
            this.cancelWait = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          this.cancelWait = null;
        }
      }
    } finally {
      this.flushing = null;
    }
  }

  private async write(acks: Ack[], run: () => Promise<string[]>): Promise<void> {
    let held: Set<string>;
    try {
      held = new Set(await run());
    } catch (err) {
      for (const ack of acks) ack.retried = true;
      throw err;
    }
    this.writes++;
    if (this.abandoned) return;
    const unsure = acks.filter((a) => a.retried && !held.has(a.item.id));
    if (unsure.length) for (const id of await this.landedBefore(unsure)) held.add(id);
    const written = new Set(acks);
    this.queue = this.queue.filter((a) => !written.has(a));
    for (const ack of acks) ack.done(held.has(ack.item.id));
  }

  /** Ids among `acks` whose outcome an earlier, failed try of their write stored after all. */
  private async landedBefore(acks: Ack[]): Promise<string[]> {
    const landed: string[] = [];
    for (let i = 0; i < acks.length; i += CHECK_CONCURRENCY) {
      const chunk = acks.slice(i, i + CHECK_CONCURRENCY);
      const jobs = await Promise.all(chunk.map((a) => this.storage.get(a.item.id)));
      chunk.forEach((ack, j) => {
        const job = jobs[j]!;
        const ours = ack.kind === 'complete' ? completedBy(job, ack.attempt) : failedWith(job, ack.item.error);
        if (ours) landed.push(ack.item.id);
      });
    }
    return landed;
  }
}
