import { defer, EMPTY, Subject, type Observable } from 'rxjs';
import type { DataSource } from 'typeorm';
import type { Wakeup } from '../../core/storage.js';
import { PgListener, type ListenerEvent } from './pg-listener.js';
import type { DialectKind } from './table-names.js';
import { pgClientFactory } from './typeorm-options.js';

export interface SignalOptions {
  kind: DialectKind;
  dataSource: DataSource;
  channel: string;
  listen: boolean;
  listenHealthCheckMs?: number;
}

/**
 * "New work may be due in queue X" (now, or in so many ms) and "job Y should stop", for
 * workers. PostgreSQL: from NOTIFY, so they cross processes, through one LISTEN connection
 * opened on first subscription. Elsewhere (and with `listen: false`): from this process's own
 * writes only, and only for work due now (this process's own delayed enqueues wake its
 * workers through the producer, `JobClient`).
 */
export class JobSignals {
  private readonly wake$ = new Subject<string>();
  private readonly cancel$ = new Subject<string>();
  private listener: PgListener | null = null;
  private closed = false;

  constructor(private readonly options: SignalOptions) {}

  /** True when the database tells us itself (NOTIFY): local signals would only double it. */
  get remote(): boolean {
    return this.options.kind === 'postgres' && this.options.listen;
  }

  wakeups(): Observable<Wakeup> {
    const pg = this.pg();
    return pg ? defer(() => (pg.start(), pg.wakeups)) : this.wake$.asObservable();
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

  /** After a cancel request for running job `id`. */
  cancelled(id: string): void {
    if (!this.remote) this.cancel$.next(id);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.listener?.close();
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
