import type { Dialect, InsertRow } from '../dialect.js';
import { sql, step, type Row, type Sql } from '../flow.js';
import { asDate, asString } from '../job-row.js';
import type { TableNames } from '../table-names.js';
import { countByQueue, deltasOf } from './batch-helpers.js';
import { applyDeltas, INSERTED_COLUMNS, JOB_COLUMNS, marks, utc } from './mysql.statements.js';

/**
 * The flows of the `no-returning` path (MySQL 8, see `mysql-path.ts`) that the `returning`
 * path runs with RETURNING: enqueue, the hand-off and prune. Each reads what it wrote in the
 * same transaction instead. `insertJobs` and `insertClaimedJob` are `mysql.dialect.ts`'s
 * statements, built without RETURNING for this path.
 */
export function mysqlNoReturning(
  t: TableNames,
  insertJobs: (rows: InsertRow[]) => Sql,
  insertClaimedJob: (row: InsertRow, workerId: string, leaseMs: number) => Sql,
): Pick<Dialect, 'insert' | 'insertClaimed' | 'prune'> {
  /**
   * The rows one INSERT stored, by id: InnoDB gives the rows of one multi-row INSERT
   * ("simple insert": the row count is known up front) one block of consecutive ids, in
   * VALUES order, under every `innodb_autoinc_lock_mode`, with `auto_increment_increment` 1
   * (checked at start-up); a row IGNORE skips hands its id on to the next row, so the stored
   * rows are exactly LAST_INSERT_ID() (the first stored) and the `stored - 1` ids after it.
   */
  const readInserted = (first: string, stored: number) =>
    sql(`SELECT ${INSERTED_COLUMNS} FROM ${t.jobs} WHERE id BETWEEN ? AND ? ORDER BY id`, [
      first,
      (BigInt(first) + BigInt(stored - 1)).toString(),
    ]);

  /**
   * Prune, step 1 (READ COMMITTED: no gap locks): a batch of finished jobs in `finished_at`
   * order through the (state, finished_at) index, locked; jobs another transaction holds (a
   * `retry()`) are left for the next prune.
   */
  const pickFinished = (olderThan: Date, state: string, limit: number, queue: string | null) =>
    sql(
      `SELECT id, queue FROM ${t.jobs} WHERE state = ? AND finished_at < ? AND (? IS NULL OR queue = ?) AND (child_status IS NULL OR child_status = 2) ORDER BY finished_at LIMIT ? FOR UPDATE SKIP LOCKED`,
      [state, utc(olderThan), queue, queue, limit],
    );

  return {
    insert: (rows) => step('tx', function* () {
      const { affected } = yield insertJobs(rows);
      if (!affected) return [];
      const { rows: ids } = yield sql('SELECT LAST_INSERT_ID() AS id');
      const { rows: out } = yield readInserted(asString(ids[0]?.id), affected);
      assertStoredInOrder(rows, out, affected);
      yield applyDeltas(t, deltasOf(out, 'pending', 1, (r) => asDate(r.run_at).getTime()));
      return out.map((r) => ({ id: asString(r.id), uniqueKey: r.unique_key == null ? null : asString(r.unique_key) }));
    }),
    // One row, no unique key (nothing to skip): LAST_INSERT_ID() is its id.
    insertClaimed: (row, workerId, leaseMs) => step('tx', function* () {
      yield insertClaimedJob(row, workerId, leaseMs);
      const { rows } = yield sql(`SELECT ${JOB_COLUMNS} FROM ${t.jobs} WHERE id = LAST_INSERT_ID()`);
      const stored = rows[0];
      if (!stored) throw new Error('the job the hand-off inserted cannot be read back by LAST_INSERT_ID()');
      yield applyDeltas(t, asString(stored.state) === 'running' ? deltasOf(rows, 'running', 1) : deltasOf(rows, 'pending', 1));
      return stored;
    }),
    // Dead jobs leave the dead count; completed and cancelled ones are in no state count.
    prune: (olderThan, state, limit, queue) => step('tx-read-committed', function* () {
      const { rows } = yield pickFinished(olderThan, state, limit, queue);
      if (!rows.length) return 0;
      yield sql(`DELETE FROM ${t.jobs} WHERE id IN (${marks(rows.length)})`, rows.map((r) => asString(r.id)));
      if (state === 'dead') yield applyDeltas(t, countByQueue(rows).map(({ q, n }) => ({ queue: q, event: 'dead', n: -n })));
      return rows.length;
    }),
  };
}

/**
 * The rows read back by id must be the given rows in VALUES order, less keyed rows IGNORE
 * skipped (a row without a key is never skipped). Anything else means the ids were not
 * consecutive (a server setting the start-up check cannot see): the transaction rolls back
 * rather than matching a result to the wrong job.
 */
export function assertStoredInOrder(given: InsertRow[], stored: Row[], affected: number): void {
  let next = 0;
  const fits = stored.length === affected && stored.every((r) => {
    const key = r.unique_key == null ? null : asString(r.unique_key);
    while (next < given.length && given[next]!.uniqueKey !== null && given[next]!.uniqueKey !== key) next++;
    const row = given[next++];
    return row !== undefined && row.uniqueKey === key && row.queue === asString(r.queue);
  }) && given.slice(next).every((r) => r.uniqueKey !== null);
  if (!fits) {
    throw new Error(
      `the ${affected} jobs one INSERT stored do not have consecutive ids from LAST_INSERT_ID(); ` +
        'the job storage on MySQL needs auto_increment_increment = 1 and InnoDB tables',
    );
  }
}
