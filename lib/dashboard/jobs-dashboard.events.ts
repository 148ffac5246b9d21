import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { Subject, type Observable } from 'rxjs';

export type DashboardActionType =
  | 'retry'
  | 'cancel'
  | 'run-now'
  | 'bulk-retry'
  | 'bulk-cancel'
  | 'pause'
  | 'resume'
  | 'retry-dead'
  | 'prune';

/** One action taken on the dashboard: who, what, on which job(s) or queue, and what came of it. */
export interface DashboardActionEvent {
  action: DashboardActionType;
  /** The user a guard put on the request (`req.user.id`, `sub`, `username`, `name` or `email`), else 'anonymous'. */
  user: string;
  ip: string;
  jobIds?: string[];
  queue?: string;
  /** Jobs changed (retried, cancelled, pruned…). */
  affected: number;
  /** Epoch ms. */
  at: number;
}

/**
 * The audit stream of the dashboard: every action, as it is logged. Inject it to keep an audit
 * trail elsewhere (`events.actions$.subscribe(…)`); the dashboard's live updates use it too.
 */
@Injectable()
export class JobsDashboardEvents implements OnModuleDestroy {
  private readonly subject = new Subject<DashboardActionEvent>();
  private readonly closing = new Subject<void>();

  get actions$(): Observable<DashboardActionEvent> {
    return this.subject.asObservable();
  }

  /** Emits once when the app shuts down: open event streams end then, so the HTTP server can close. */
  get closing$(): Observable<void> {
    return this.closing.asObservable();
  }

  emit(event: DashboardActionEvent): void {
    this.subject.next(event);
  }

  onModuleDestroy(): void {
    this.closing.next();
    this.closing.complete();
    this.subject.complete();
  }
}
