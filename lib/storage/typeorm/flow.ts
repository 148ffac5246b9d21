/**
 * A storage operation written once as a generator that yields SQL statements and receives
 * their results. The same flow then runs synchronously on SQLite (inside one `BEGIN
 * IMMEDIATE` transaction, with no other JavaScript interleaving) or asynchronously on a
 * pooled PostgreSQL / MariaDB connection. Flows hold no connection and no state.
 */

/** One parameterized statement. Values are always bind parameters, never spliced into `text`. */
export interface Sql {
  text: string;
  params: unknown[];
}

/** What a statement returned: its rows (SELECT / RETURNING) and how many rows it changed. */
export interface SqlResult {
  rows: Row[];
  affected: number;
}

/** A result row as the driver returns it; decoded by `job-row.ts`. */
export type Row = Record<string, unknown>;

export type Flow<T> = Generator<Sql, T, SqlResult>;

/**
 * How a flow must run:
 * - `read`: reads only (SQLite runs it at once, outside the write queue);
 * - `write`: one writing statement, atomic on its own (autocommit);
 * - `tx`: several statements in one transaction (SQLite: `BEGIN IMMEDIATE`);
 * - `tx-read-committed`: as `tx`, at READ COMMITTED where the database has gap locks
 *   (MariaDB claims and rescues, so they do not block concurrent inserts into the range).
 */
export type FlowMode = 'read' | 'write' | 'tx' | 'tx-read-committed';

/** A flow and how to run it. `make` starts a fresh run (a deadlocked transaction is retried). */
export interface Step<T> {
  mode: FlowMode;
  make: () => Flow<T>;
  /**
   * SQLite: never run inside a transaction open on the shared connection (wait until it ends).
   * A read there would start that transaction's snapshot, and its first write after another
   * process's commit would then fail with SQLITE_BUSY instead of waiting. For reads issued on
   * their own schedule (the change watch), not on behalf of a caller.
   */
  outside?: true;
}

/** `make` is a generator function: contextually typed, so its `yield`s receive `SqlResult`. */
export const step = <T>(mode: FlowMode, make: () => Flow<T>): Step<T> => ({ mode, make });

export const sql = (text: string, params: unknown[] = []): Sql => ({ text, params });

/** Runs a flow with a synchronous executor (SQLite). Errors are thrown into the flow. */
export function driveSync<T>(flow: Flow<T>, exec: (q: Sql) => SqlResult): T {
  let next = flow.next();
  while (!next.done) {
    let result: SqlResult;
    try {
      result = exec(next.value);
    } catch (err) {
      next = flow.throw(err);
      continue;
    }
    next = flow.next(result);
  }
  return next.value;
}

/** Runs a flow with an asynchronous executor (a TypeORM QueryRunner). */
export async function driveAsync<T>(flow: Flow<T>, exec: (q: Sql) => Promise<SqlResult>): Promise<T> {
  let next = flow.next();
  while (!next.done) {
    let result: SqlResult;
    try {
      result = await exec(next.value);
    } catch (err) {
      next = flow.throw(err);
      continue;
    }
    next = flow.next(result);
  }
  return next.value;
}
