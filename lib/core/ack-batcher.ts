import type { EngineLogger } from './engine-options.js';
import type { CompleteItem, FailItem, Storage } from './storage.js';

type Ack =
  | { kind: 'complete'; item: CompleteItem; done: (held: boolean) => void }
  | { kind: 'fail'; item: FailItem; done: (held: boolean) => void };

/**
 * Gathers completions and failures and writes them one statement per batch. Items wait
 * while a write is in flight; a failed write is retried with backoff (the jobs' leases are
 * kept alive meanwhile, since their ids stay in `pendingIds`).
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

  /** Queues a completion; `done(held)` is called once it is written (held: the lease was still ours). */
  complete(item: CompleteItem, done: (held: boolean) => void): void {
    this.push({ kind: 'complete', item, done });
  }

  fail(item: FailItem): Promise<boolean> {
    return new Promise((done) => this.push({ kind: 'fail', item, done }));
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
    const held = new Set(await run());
    this.writes++;
    if (this.abandoned) return;
    const written = new Set(acks);
    this.queue = this.queue.filter((a) => !written.has(a));
    for (const ack of acks) ack.done(held.has(ack.item.id));
  }
}
