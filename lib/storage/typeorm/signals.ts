import { defer, EMPTY, merge, Subject, type Observable } from 'rxjs';
import type { DataSource } from 'typeorm';
import type { Wakeup } from '../../core/storage.js';
import { PgListener, type ListenerEvent } from './pg-listener.js';
import { SqliteChangeWatch, type ChangeWatchOptions } from './sqlite-change-watch.js';
import type { DialectKind } from './table-names.js';
import { pgClientFactory } from './typeorm-options.js';

export interface SignalOptions {
  kind: DialectKind;
  dataSource: DataSource;
  channel: string;
  listen: boolean;
  listenHealthCheckMs?: number;
  /** SQLite: watch the file for commits of other processes (see `SqliteChangeWatch`); null: off. */
  changes: ChangeWatchOptions | null;
}

/**
 * "New work may be due in queue X" (now, or in so many ms) and "job Y should stop", for
 * workers. PostgreSQL: from NOTIFY, so they cross processes, through one LISTEN connection
 * opened on first subscription. SQLite: this process's own writes, and (unless `changePollMs`
 * is off) queues whose pending work another process changed, from a cheap look at the file
 * every few ms. Elsewhere (and with `listen: false`): from this process's own writes only.
 * Own writes signal only work due now (this process's own delayed enqueues wake its workers
 * through the producer, `JobClient`).
 */
export class JobSignals {
  private readonly wake$ = new Subject<string>();
  private readonly cancel$ = new Subject<string>();
  private listener: PgListener | null = null;
  private readonly watch: SqliteChangeWatch | null;
  private closed = false;

  constructor(private readonly options: SignalOptions) {
    this.watch = options.kind === 'sqlite' && options.changes ? new SqliteChangeWatch(options.changes) : null;
  }

  /** True when the database tells us itself (NOTIFY): local signals would only double it. */
  get remote(): boolean {
    return this.options.kind === 'postgres' && this.options.listen;
  }

  wakeups(): Observable<Wakeup> {
    const pg = this.pg();
    if (pg) return defer(() => (pg.start(), pg.wakeups));
    return this.watch && !this.closed ? merge(this.wake$, this.watch.wakeups) : this.wake$.asObservable();
  }

  cancellations(): Observable<string> {
    const pg = this.pg();
    return pg ? defer(() => (pg.start(), pg.cancellations)) : this.cancel$.asObservable();
  }

  listenerEvents(): Observable<ListenerEvent> {
    return this.pg()?.events ?? EMPTY;
  }

  /** After a committed write of ours that made jobs of `queue` due. */
  wake(queue: string): void {
    if (!this.remote) this.wake$.next(queue);
  }

  /** This process used the connection: the SQLite watch must take its own changes in (see `SqliteChangeWatch`). */
  touched(): void {
    this.watch?.touched();
  }

  /** After a cancel request for running job `id`. */
  cancelled(id: string): void {
    if (!this.remote) this.cancel$.next(id);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.listener?.close();
    await this.watch?.close();
    this.wake$.complete();
    this.cancel$.complete();
  }

  private pg(): PgListener | null {
    if (!this.remote || this.closed) return null;
    this.listener ??= new PgListener({
      createClient: pgClientFactory(this.options.dataSource, this.options.channel),
      channel: this.options.channel,
      healthCheckMs: this.options.listenHealthCheckMs,
    });
    return this.listener;
  }
}
