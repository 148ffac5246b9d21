import type { Observable } from 'rxjs';
import type { DataSource } from 'typeorm';
import type { Wakeup } from '../../core/storage.js';
import { InvalidOptionsError } from '../../errors/invalid-options.error.js';
import { StorageUnavailableError } from '../../errors/storage-unavailable.error.js';
import type { Dialect } from './dialect.js';
import { mysqlDialect } from './dialects/mysql.dialect.js';
import type { Executor } from './executors/executor.js';
import { startExecutor } from './executors/start-executor.js';
import type { Step } from './flow.js';
import { FoldScheduler } from './fold-scheduler.js';
import { migrationStep } from './migrations/migrator.js';
import type { ListenerEvent } from './pg-listener.js';
import { JobSignals } from './signals.js';
import type { StorageSetup } from './storage-setup.js';

/**
 * The TypeORM storage's connection to its database: the DataSource and the executor that runs
 * the dialect's steps, their lifecycle (`init` migrates, `close` settles the folds and the
 * signals, then destroys a DataSource of its own), the wake-up signals and the count folds.
 * `TypeOrmStorage` builds the Storage contract's operations on it.
 */
export abstract class TypeOrmConnection {
  private executor: Executor | null = null;
  private starting: Promise<void> | null = null;
  protected closed = false;
  protected readonly folds: FoldScheduler;
  protected readonly signals: JobSignals;

  readonly dataSource: DataSource;
  private current: Dialect;

  protected constructor(private readonly setup: StorageSetup) {
    this.dataSource = setup.dataSource;
    this.current = setup.dialect;
    // Folds and the clock read the same statements on every MariaDB / MySQL path.
    this.folds = new FoldScheduler(setup.dialect, (step) => this.run(step), () => this.run(setup.dialect.now()));
    this.signals = new JobSignals({
      kind: setup.dialect.kind,
      dataSource: setup.dataSource,
      channel: setup.dialect.tables.channel,
      listen: setup.listen,
      listenHealthCheckMs: setup.listenHealthCheckMs,
      // The watch's own looks go straight to the executor: they must not count as this process's use.
      changes: setup.changePollMs > 0 ? { tables: setup.dialect.tables, everyMs: setup.changePollMs, run: (step) => this.executorOf().run(step) } : null,
    });
  }

  /** The database's statements; on MariaDB / MySQL, those of the server's path once `init()` has checked it. */
  get dialect(): Dialect {
    return this.current;
  }

  init(): Promise<void> {
    if (this.closed) return Promise.reject(new StorageUnavailableError('the storage was closed'));
    this.starting ??= this.start().catch((err: unknown) => {
      this.starting = null;
      throw err instanceof StorageUnavailableError || err instanceof InvalidOptionsError
        ? err
        : new StorageUnavailableError(`could not prepare the ${this.dialect.kind} job tables`, err);
    });
    return this.starting;
  }

  private async start(): Promise<void> {
    if (!this.dataSource.isInitialized) {
      if (!this.setup.ownsDataSource) {
        throw new StorageUnavailableError('the DataSource given to the job storage is not initialized; initialize it first');
      }
      await this.dataSource.initialize();
    }
    const { executor, mysqlPath } = await startExecutor(this.dataSource, this.dialect.kind, this.setup.busyTimeoutMs);
    if (mysqlPath) this.current = mysqlDialect(this.dialect.tables, mysqlPath);
    if (this.setup.migrations) await executor.run(migrationStep(this.dialect.kind, this.dialect.tables, mysqlPath ?? undefined));
    this.executor = executor;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.starting?.catch(() => undefined);
    await this.folds.settle();
    await this.signals.close();
    if (this.setup.ownsDataSource && this.dataSource.isInitialized) await this.dataSource.destroy();
  }

  /** A statement that wrote count deltas ran: the folds count it. */
  protected wrote(): void {
    if (!this.closed) this.folds.wrote();
  }

  /** complete / fail / release, chunked; each writes count deltas. */
  protected async batched<I>(items: I[], make: (chunk: I[]) => Step<string[]>): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < items.length; i += this.dialect.maxRowsPerStatement) {
      out.push(...(await this.run(make(items.slice(i, i + this.dialect.maxRowsPerStatement)))));
      this.wrote();
    }
    return out;
  }

  protected run<T>(step: Step<T>): Promise<T> {
    return this.exec().run(step);
  }

  /** Queues where new work may be due, now or in so many ms (see `JobSignals`). */
  wakeups(): Observable<Wakeup> {
    return this.signals.wakeups();
  }

  /** Ids of running jobs whose cancellation was requested (PostgreSQL: NOTIFY `!cancel:<id>`). */
  cancellations(): Observable<string> {
    return this.signals.cancellations();
  }

  /** The LISTEN connection's life ('listening' / 'lost'); nothing on other databases. */
  listenerEvents(): Observable<ListenerEvent> {
    return this.signals.listenerEvents();
  }

  /** The executor, for every operation of the storage (which the SQLite change watch must know of). */
  protected exec(): Executor {
    const executor = this.executorOf();
    this.signals.touched();
    return executor;
  }

  private executorOf(): Executor {
    if (this.executor) return this.executor;
    throw new StorageUnavailableError(this.closed ? 'the storage was closed' : 'the storage is not initialized; call init() first');
  }
}
