import { Observable, share, Subject } from 'rxjs';
import { MAX_TIMER_MS } from '../../core/clock.js';
import type { Wakeup } from '../../core/storage.js';
import { sqliteChanges, type Changes, type QueueMarks } from './dialects/sqlite-changes.js';
import type { Step } from './flow.js';
import type { TableNames } from './table-names.js';

/** Without commits from other processes for this long, the looks slow down. */
export const QUIET_AFTER_MS = 1000;
/** How far: the longest wait between two looks is this many times `everyMs`. */
export const QUIET_FACTOR = 8;

export interface ChangeWatchOptions {
  tables: TableNames;
  /** ms between looks while other processes commit; > 0. */
  everyMs: number;
  /** ms without another process's commit before the looks slow down; default `QUIET_AFTER_MS`. */
  quietAfterMs?: number;
  /** Runs a read step on the storage's own connection (the one its writes go through). */
  run: <T>(step: Step<T>) => Promise<T>;
}

/**
 * Wake-ups across processes on SQLite, which has no NOTIFY: every `everyMs` it reads
 * `PRAGMA data_version` on the storage's own connection (see `dialects/sqlite-changes.ts`).
 * That number moves only when another connection committed, so this process's own writes
 * (claims, completions, heartbeats) never wake it: its own enqueues wake its workers directly.
 * When it moved, the jobs stored since the last look and the per-queue marks are read, and
 * each queue they show new work in is emitted once (see `wakeupsOf`). So an idle process stays
 * idle (one cheap read per look, nothing else), and a busy neighbour wakes it only for queues
 * whose pending work changed, at most once per look. After this process used the connection
 * (`touched()`), the next look reads the marks anyway and, if no one else committed meanwhile,
 * only takes them in: so its own claims, pauses and enqueues are in the marks that another
 * process's change is compared with.
 *
 * Every look wakes the process, which costs more than the read itself: so once no other
 * process has committed for `QUIET_AFTER_MS`, the wait between looks doubles at each look, up
 * to `QUIET_FACTOR` × `everyMs`, and drops back to `everyMs` at the next commit seen. A job
 * stored after a quiet spell is seen within that longer wait; the ones after it within
 * `everyMs`.
 *
 * The timer runs while someone subscribes (the workers), is unref'd (it never keeps the
 * process alive) and stops at `close()`. One look at a time: the next is timed from the end of
 * the last. A look that fails (a busy or closed connection) is skipped: wake-ups are hints,
 * and the workers' poll stays the fallback.
 */
export class SqliteChangeWatch {
  private readonly closed$ = new Subject<void>();
  private marks: QueueMarks | null = null;
  private looking: Promise<void> | null = null;
  private dirty = false;
  private closed = false;
  /** When a look last saw another process's commit (`performance.now()`). */
  private lastSeen = 0;
  private waitMs: number;

  readonly wakeups: Observable<Wakeup>;

  constructor(private readonly options: ChangeWatchOptions) {
    this.waitMs = options.everyMs;
    this.wakeups = new Observable<Wakeup>((subscriber) => {
      let timer: ReturnType<typeof setTimeout> | null = null;
      let active = true;
      const next = (first = false) => {
        if (!active || this.closed) return;
        timer = setTimeout(() => {
          timer = null;
          this.looking = this.look((w) => subscriber.next(w)).finally(() => {
            this.looking = null;
            next();
          });
        }, first ? 0 : this.nextWait());
        timer.unref();
      };
      // The first look, at once, only takes the marks: what was there before is the workers'
      // first claim's to find.
      this.marks = null;
      this.lastSeen = performance.now();
      this.waitMs = this.options.everyMs;
      next(true);
      const stop = this.closed$.subscribe(() => subscriber.complete());
      return () => {
        active = false;
        stop.unsubscribe();
        if (timer) clearTimeout(timer);
      };
    }).pipe(share());
  }

  /** This process used the connection (its own writes leave `data_version` as it was). */
  touched(): void {
    this.dirty = true;
  }

  /** Stops the timer and waits for a look in flight (it must not run on a destroyed connection). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closed$.next();
    this.closed$.complete();
    await this.looking;
  }

  /** `everyMs` while others commit; after a quiet spell, doubling up to `QUIET_FACTOR` × `everyMs`. */
  private nextWait(): number {
    const { everyMs } = this.options;
    if (performance.now() - this.lastSeen < (this.options.quietAfterMs ?? QUIET_AFTER_MS)) this.waitMs = everyMs;
    else this.waitMs = Math.min(this.waitMs * 2, everyMs * QUIET_FACTOR, MAX_TIMER_MS);
    return this.waitMs;
  }

  private async look(wake: (w: Wakeup) => void): Promise<void> {
    const refresh = this.dirty;
    this.dirty = false;
    let changes: Changes | null;
    try {
      changes = await this.options.run(sqliteChanges(this.options.tables, this.marks, refresh));
    } catch {
      this.dirty ||= refresh;
      return;
    }
    if (!changes || this.closed) return;
    const before = this.marks;
    this.marks = changes.marks;
    // Same version: only this process wrote, and its own writes signal its workers themselves.
    if (!before || before.version === changes.marks.version) return;
    this.lastSeen = performance.now();
    for (const w of wakeupsOf(before, changes)) wake(w);
  }
}

/**
 * The wake-ups a change from `before` calls for, at most one per queue (none for a paused one):
 * - new jobs due now in a queue: the queue;
 * - new jobs there all due later, and nothing else changed its pending count: `{ queue, inMs }`
 *   for the soonest (the worker claims then, not at once);
 * - otherwise a queue whose pending count changed (a release, a rescue, a retry, claims by
 *   another process, whose wake-up finds the queue drained and costs one claim), or that was
 *   resumed: the queue. Counts are compared for inequality, not growth: this process's own
 *   claims lower a count without moving `data_version`.
 * Only new jobs are certain to be seen: when this process's own writes and another's change
 * the same count by as much in opposite directions between two looks, the poll finds the job.
 */
export function wakeupsOf(before: QueueMarks, changes: Changes): Wakeup[] {
  const out: Wakeup[] = [];
  const after = changes.marks.queues;
  const fresh = new Map(changes.fresh.map((f) => [f.queue, f]));
  for (const [queue, mark] of after) {
    if (mark === 'paused') continue;
    // A queue with no counts yet had none pending.
    const was = before.queues.get(queue) ?? 0;
    const added = fresh.get(queue);
    if (added && added.due > 0) out.push(queue);
    else if (added && added.soonestInMs !== null && was !== 'paused' && mark - was === added.pending) {
      out.push({ queue, inMs: added.soonestInMs });
    } else if (was !== mark || added) out.push(queue);
  }
  return out;
}
