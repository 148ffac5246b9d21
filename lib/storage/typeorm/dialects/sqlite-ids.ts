import type { TableNames } from '../table-names.js';
import { NOW } from './sqlite.statements.js';

/**
 * Job ids on SQLite, which are never handed out twice.
 *
 * A rowid is max(rowid) + 1, and AUTOINCREMENT's `sqlite_sequence` is an ordinary table: both
 * roll back with a transaction. So the id of a job enqueued inside a caller's transaction
 * (`enqueue(…, { manager })`) that then rolled back was given to the next job, and an id the
 * caller had already seen (logged, returned, stored elsewhere) named another job. Nothing
 * written inside the transaction survives its rollback, so the ids are taken from what does:
 *
 * - the database clock: an id is at least epoch ms × 1024, so an id handed out in one
 *   millisecond is below every id computed in a later one (unless that millisecond handed out
 *   more than 1024: a large batch, or a burst, runs ahead of the clock for a few ms);
 * - this process's memory: an id is above every id this process has seen (`processFloor`),
 *   so no id is reused within the process, whatever the clock does;
 * - the table: above max(id) and `sqlite_sequence`, so ids keep increasing (claims order by id
 *   last, `list()` pages by id) and a pruned newest job's id is not reused either.
 *
 * What remains: another process (or a database file copied elsewhere) could still reuse an
 * id rolled back here if it enqueues within the same millisecond of the database clock (or
 * within the few ms a batch of more than 1024 jobs ran ahead of it), or after the machine's
 * clock stepped back. While a transaction is open it holds SQLite's write lock, so another
 * process can only insert after the rollback: the window is that short.
 * Ids are decimal strings of 16 digits now (the factor 1024 keeps them below 2^53, exact as
 * JavaScript numbers, until the year 2248).
 */

/** The highest id this process has seen from any SQLite job table (ids only grow: sharing it costs nothing). */
let processFloor = 0;

/** Records ids a statement returned. */
export function sawIds(ids: readonly unknown[]): void {
  for (const id of ids) {
    const n = Number(id);
    if (n > processFloor) processFloor = n;
  }
}

/**
 * A one-row subquery `(SELECT … AS base)`: the first id of the next INSERT (its rows take base,
 * base + 1, …). Binds: the table's name in `sqlite_sequence`, then this process's floor (as
 * INTEGER: better-sqlite3 binds JS numbers as REAL).
 */
export const firstNewId = (t: TableNames) =>
  `(SELECT max((SELECT COALESCE(max(id), 0) FROM ${t.jobs}) + 1,
               COALESCE((SELECT seq FROM sqlite_sequence WHERE name = ?), 0) + 1,
               ${NOW} * 1024,
               CAST(? AS INTEGER) + 1) AS base)`;

/** The binds of `firstNewId`, read when the statement is made (just before it runs). */
export const firstNewIdParams = (t: TableNames): unknown[] => [`${t.prefix}job`, processFloor];
