import { Observable, share, Subject } from 'rxjs';
import { sqliteChanges, type QueueMarks } from './dialects/sqlite-changes.js';
import type { Step } from './flow.js';
import type { TableNames } from './table-names.js';

export interface ChangeWatchOptions {
  tables: TableNames;
  /** ms between looks; > 0. */
  everyMs: number;
  /** Runs a read step on the storage's own connection (the one its writes go through). */
  run: <T>(step: Step<T>) => Promise<T>;
}

/**
 * Wake-ups across processes on SQLite, which has no NOTIFY: every `everyMs` it reads
 * `PRAGMA data_version` on the storage's own connection (see `dialects/sqlite-changes.ts`).
 * That number moves only when another connection committed, so this process's own writes
 * (claims, completions, heartbeats) never wake it: its own enqueues wake its workers directly.
 * When it moved, the per-queue marks are read, and each queue whose marks moved is emitted
 * once. So an idle process stays idle (one cheap read per tick, nothing else), and a busy
 * neighbour wakes it only for queues whose pending work changed, at most once per tick.
 * After this process used the connection (`touched()`), the next look reads the marks
 * anyway and, if no one else committed meanwhile, only takes them in: so its own claims,
 * pauses and enqueues are in the marks that another process's change is compared with.
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

  readonly wakeups: Observable<string>;

  constructor(private readonly options: ChangeWatchOptions) {
    this.wakeups = new Observable<string>((subscriber) => {
      let timer: ReturnType<typeof setTimeout> | null = null;
      let active = true;
      const next = () => {
        if (!active || this.closed) return;
        timer = setTimeout(() => {
          timer = null;
          this.looking = this.look((queue) => subscriber.next(queue)).finally(() => {
            this.looking = null;
            next();
          });
        }, this.options.everyMs);
        timer.unref();
      };
      // The first look only takes the marks: what was there before is the poll's to find.
      this.marks = null;
      next();
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

  private async look(wake: (queue: string) => void): Promise<void> {
    const refresh = this.dirty;
    this.dirty = false;
    let after: QueueMarks | null;
    try {
      after = await this.options.run(sqliteChanges(this.options.tables, this.marks?.version ?? null, refresh));
    } catch {
      this.dirty ||= refresh;
      return;
    }
    if (!after || this.closed) return;
    const before = this.marks;
    this.marks = after;
    // Same version: only this process wrote, and its own writes signal its workers themselves.
    if (before && before.version !== after.version) for (const queue of movedQueues(before, after)) wake(queue);
  }
}

/**
 * The queues whose marks moved from `before` to `after`: their pending count changed (new jobs,
 * a release, a rescue, a retry by another process; or claims by one, whose wake-up finds the
 * queue drained and costs one claim), or they were resumed. A queue paused now is left out.
 * Counts compared for inequality, not growth: this process's own claims lower a count without
 * moving `data_version`, so a new job may leave it below the last mark.
 */
export function movedQueues(before: QueueMarks, after: QueueMarks): string[] {
  const moved: string[] = [];
  for (const [queue, mark] of after.queues) {
    if (mark !== 'paused' && before.queues.get(queue) !== mark) moved.push(queue);
  }
  return moved;
}
