import type { Dialect } from './dialect.js';
import type { Step } from './flow.js';
import { counterWindow } from './stats.js';

/** Deltas folded per statement, and delta-writing statements between background folds. */
const FOLD_BATCH = 5000;
const FOLD_EVERY = 200;
/** Batches per fold at most (bounded maintenance); the next fold takes the rest. */
const MAX_BATCHES = 20;

/**
 * When to fold (the statements of one fold, per database, are in `dialects/fold-statements.ts`).
 * Keeps the unfolded count deltas few, so `stats()` reads O(queues) rows: a fold runs after
 * every FOLD_EVERY statements that wrote deltas (in the background), at every rescue (the
 * maintenance each worker instance runs) and after prune. Concurrent requests share one run.
 */
export class FoldScheduler {
  private writes = 0;
  private running: Promise<number> | null = null;

  constructor(
    private readonly dialect: Dialect,
    private readonly run: <T>(step: Step<T>) => Promise<T>,
    private readonly now: () => Promise<number>,
  ) {}

  /** Folds now; resolves with how many deltas it folded. */
  fold(): Promise<number> {
    this.writes = 0;
    this.running ??= this.foldAll().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** A statement wrote deltas. */
  wrote(): void {
    if (++this.writes < FOLD_EVERY || this.running) return;
    void this.fold().catch(() => undefined); // the next rescue or FOLD_EVERY writes try again
  }

  /** Waits for a fold in flight (close()). */
  async settle(): Promise<void> {
    await this.running?.catch(() => undefined);
  }

  private async foldAll(): Promise<number> {
    let folded = 0;
    for (let i = 0; i < MAX_BATCHES; i++) {
      const n = await this.run(this.dialect.foldCounters(FOLD_BATCH));
      folded += n;
      if (n < FOLD_BATCH) break;
    }
    await this.run(this.dialect.pruneCounters(counterWindow(await this.now())));
    return folded;
  }
}
