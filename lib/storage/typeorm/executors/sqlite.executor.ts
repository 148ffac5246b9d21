import { AsyncLocalStorage } from 'node:async_hooks';
import type BetterSqlite3 from 'better-sqlite3';
import type { DataSource } from 'typeorm';
import { StorageUnavailableError } from '../../../errors/storage-unavailable.error.js';
import { driveAsync, driveSync, type Row, type Sql, type SqlResult, type Step } from '../flow.js';
import type { Executor, ManagerLike } from './executor.js';
import { exec } from './typeorm.executor.js';

const STATEMENT_CACHE = 256;

/**
 * SQLite has one writer, and TypeORM's better-sqlite3 driver one connection shared by
 * everything that uses the DataSource. So:
 * - every write step runs synchronously on that connection (better-sqlite3 is synchronous):
 *   no other JavaScript can run between its statements, so a transaction of ours never
 *   mixes with someone else's;
 * - write steps queue in-process (a promise chain), one after the other;
 * - a multi-statement step runs inside `BEGIN IMMEDIATE`, which takes the write lock up
 *   front (waiting up to `busy_timeout` for other processes) instead of failing on upgrade;
 * - when the connection is inside someone else's transaction (an app's
 *   `dataSource.transaction()`), a write waits until it ends (up to `busyTimeoutMs`) rather
 *   than silently joining it;
 * - reads run at once, but while one of our transactions is open (they wait for its end
 *   unless they are its own), and but for reads on their own schedule (`Step.outside`), which
 *   wait for any transaction to end.
 * `transaction()` (completeWithin) holds the queue while the handler's work runs; steps the
 * handler itself triggers (progress, enqueue) run inside that transaction.
 */
export class SqliteExecutor implements Executor {
  private tail: Promise<unknown> = Promise.resolve();
  private readonly statements = new Map<string, BetterSqlite3.Statement>();
  private readonly holding = new AsyncLocalStorage<true>();
  /** One of our transactions (`transaction()`) is open on the connection. */
  private ownOpen = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly db: BetterSqlite3.Database,
    private readonly busyTimeoutMs: number,
  ) {}

  async run<T>(step: Step<T>): Promise<T> {
    if (this.holding.getStore()) return driveSync(step.make(), this.execSync);
    if (step.mode === 'read') {
      // Not inside a transaction of ours from outside its work (a job's `transaction: true`
      // run): the read would see its uncommitted rows, and take the snapshot its later writes
      // need fresh (SQLITE_BUSY after another process commits). An app's transaction on the
      // shared connection does not hold reads up, but for those on their own schedule.
      if (this.db.inTransaction && (this.ownOpen || step.outside)) return this.whenFree(() => driveSync(step.make(), this.execSync));
      return driveSync(step.make(), this.execSync);
    }
    return this.serial(() =>
      this.whenFree(() => {
        if (step.mode === 'write') return driveSync(step.make(), this.execSync);
        return this.immediate(() => driveSync(step.make(), this.execSync));
      }),
    );
  }

  async runOn<T>(manager: ManagerLike, step: Step<T>): Promise<T> {
    const qr = manager.queryRunner;
    if (!qr) return this.run(step);
    return driveAsync(step.make(), (q) => exec(qr, q));
  }

  transaction<T>(work: (manager: ManagerLike, run: <U>(step: Step<U>) => Promise<U>) => Promise<T>): Promise<T> {
    // Already inside our transaction (a handler's work in completeWithin enqueueing a large
    // batch): the one connection is in it, so join it; queueing would wait for ourselves.
    if (this.holding.getStore()) {
      return work(this.dataSource.manager, (s) => Promise.resolve(driveSync(s.make(), this.execSync)));
    }
    return this.serial(() =>
      this.whenFree(() =>
        this.holding.run(true, async () => {
          this.ownOpen = true;
          try {
            return await this.dataSource.transaction((manager) => {
              const qr = manager.queryRunner!;
              return work(manager, (s) => driveAsync(s.make(), (q) => exec(qr, q)));
            });
          } finally {
            this.ownOpen = false;
          }
        }),
      ),
    );
  }

  /**
   * `fn` inside BEGIN IMMEDIATE … COMMIT, with statements prepared once: cheaper than
   * better-sqlite3's `transaction()` wrapper (made per call, savepoint-aware), which cost a
   * one-job enqueue about 6 µs of its ~25. The connection is outside any transaction here
   * (`whenFree`), so no savepoint is needed.
   */
  private immediate<T>(fn: () => T): T {
    this.control ??= {
      begin: this.db.prepare('BEGIN IMMEDIATE'),
      commit: this.db.prepare('COMMIT'),
      rollback: this.db.prepare('ROLLBACK'),
    };
    this.control.begin.run();
    try {
      const value = fn();
      this.control.commit.run();
      return value;
    } catch (err) {
      if (this.db.inTransaction) this.control.rollback.run();
      throw err;
    }
  }

  private control: { begin: BetterSqlite3.Statement; commit: BetterSqlite3.Statement; rollback: BetterSqlite3.Statement } | null = null;

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /**
   * Calls `fn` once the shared connection is outside any transaction. The check and the call
   * happen in one synchronous block, so nothing can open a transaction in between.
   */
  private async whenFree<T>(fn: () => T | Promise<T>): Promise<T> {
    const deadline = Date.now() + this.busyTimeoutMs;
    for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
      if (!this.db.inTransaction) return fn();
      if (Date.now() >= deadline) {
        throw new StorageUnavailableError(
          `the SQLite connection stayed inside another transaction for ${this.busyTimeoutMs} ms ` +
            '(an app transaction on the shared DataSource); pass its EntityManager as `manager` to write inside it',
        );
      }
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  private readonly execSync = (q: Sql): SqlResult => {
    let st = this.statements.get(q.text);
    if (!st) {
      st = this.db.prepare(q.text);
      if (this.statements.size >= STATEMENT_CACHE) this.statements.delete(this.statements.keys().next().value!);
      this.statements.set(q.text, st);
    }
    if (st.reader) {
      const rows = st.all(...q.params) as Row[];
      return { rows, affected: rows.length };
    }
    return { rows: [], affected: st.run(...q.params).changes };
  };
}
