import type { CountDelta, CounterWindow, ListWhere } from '../dialect.js';
import { sql, type Sql } from '../flow.js';
import { nextMinute } from '../stats.js';
import type { TableNames } from '../table-names.js';
import type { CommonStatements } from './common-flows.js';

/**
 * MariaDB (10.6+) and MySQL (8.0.4+) SQL: the same text on both, except the RETURNING of
 * `prune` here and of the enqueue in `mysql.dialect.ts`, which only the `returning` path
 * (MariaDB) runs (see `mysql-path.ts`). Times are DATETIME(3)
 * holding UTC, compared with `UTC_TIMESTAMP(3)`, so neither the session's `time_zone` nor
 * Node's matters. They are bound as UTC text and read back as text (`CAST … AS CHAR`),
 * because the driver would otherwise convert them through its own time-zone setting.
 * In a single-table UPDATE MariaDB applies assignments left to right, each seeing the ones
 * before: `state` (and `cancel_requested`) come last wherever others read them.
 */

export const PENDING = `('scheduled', 'available', 'retryable')`;
export const FINISHED = `('completed', 'dead', 'cancelled')`;
export const NOW = 'UTC_TIMESTAMP(3)';

/** A row whose `unique_active` still holds its key: no window, or one not ended (see the PostgreSQL `UNIQUE_LIVE`). */
export const UNIQUE_LIVE = `(unique_until IS NULL OR unique_until > ${NOW})`;

/** Epoch ms on the database clock, independent of the session time zone. */
export const EPOCH_MS = `(TIMESTAMPDIFF(MICROSECOND, '1970-01-01', ${NOW}) DIV 1000)`;

/** `expr` milliseconds after `base`. */
export const plusMs = (base: string, expr: string) => `${base} + INTERVAL ((${expr}) * 1000) MICROSECOND`;

/** A Date as DATETIME(3) text in UTC. */
export const utc = (d: Date | null) => (d === null ? null : d.toISOString().slice(0, 23).replace('T', ' '));

/** `?, ?, ?` for an IN list (callers chunk ids under the dialect's row limit). */
export const marks = (n: number) => Array.from({ length: n }, () => '?').join(', ');

const time = (c: string) => `CAST(${c} AS CHAR) AS ${c}`;
export const JOB_COLUMNS = [
  'id', 'queue', 'name', 'payload', 'state', 'priority', 'attempt', 'max_attempts', time('run_at'), time('created_at'),
  time('started_at'), time('completed_at'), time('failed_at'), 'locked_by', time('locked_until'), 'last_error',
  'unique_key', 'backoff', 'timeout_ms', 'progress', 'progress_data', 'result', 'cancel_requested', 'interruptions',
  'prefetched', 'rescued_unstarted', 'headers', 'job_group', 'parent_id', 'batch_id',
].join(', ');

/** What an enqueue reads of the rows it stored: ids for the results, queue and run_at for the pending counts. */
export const INSERTED_COLUMNS = 'id, unique_key, queue, CAST(run_at AS CHAR) AS run_at';

/** Epoch ms of a DATETIME expression. */
const msOf = (expr: string) => `(TIMESTAMPDIFF(MICROSECOND, '1970-01-01', ${expr}) DIV 1000)`;

/** The pending-count bucket of a run_at: its minute if that is after the clock's, else 0 (due). */
export const bucketOf = (expr: string) =>
  `CASE WHEN ${msOf(expr)} DIV 60000 > ${EPOCH_MS} DIV 60000 THEN (${msOf(expr)} DIV 60000) * 60000 ELSE 0 END`;

/** A count change whose pending run_at is a SQL expression (`now + delay` of a retry). */
export interface SqlDelta extends CountDelta {
  runAtSql?: { text: string; params: unknown[] };
}

/**
 * Appends roll-up count changes to the delta table, in the caller's transaction (see the
 * PostgreSQL `insertDeltas`): inserts into an AUTO_INCREMENT key only, so concurrent
 * workers never wait on each other here. Events go to the clock's minute; pending changes to
 * the bucket of their run_at.
 */
export function applyDeltas(t: TableNames, deltas: SqlDelta[]): Sql {
  const rows: string[] = [];
  const params: unknown[] = [];
  for (const d of deltas) {
    params.push(d.queue, d.event);
    if (d.event === 'completed' || d.event === 'died') rows.push(`(?, ?, (${EPOCH_MS} DIV 60000) * 60000, ?)`);
    else if (d.event === 'pending' && d.runAtSql) {
      rows.push(`(?, ?, ${bucketOf(d.runAtSql.text)}, ?)`);
      params.push(...d.runAtSql.params, ...d.runAtSql.params);
    } else if (d.event === 'pending' && d.runAt != null) {
      rows.push(`(?, ?, ${bucketOf('CAST(? AS DATETIME(3))')}, ?)`);
      const at = typeof d.runAt === 'number' ? utc(new Date(d.runAt)) : d.runAt;
      params.push(at, at);
    } else rows.push('(?, ?, 0, ?)');
    params.push(d.n);
  }
  return sql(`INSERT INTO ${t.deltas} (queue, event, bucket, n) VALUES ${rows.join(', ')}`, params);
}

export function mysqlStatements(t: TableNames): CommonStatements {
  return {
    now: () => sql(`SELECT ${EPOCH_MS} AS now`),
    get: (id) => sql(`SELECT ${JOB_COLUMNS} FROM ${t.jobs} WHERE id = ?`, [id]),
    byUniqueKey: (key) => sql(`SELECT ${JOB_COLUMNS} FROM ${t.jobs} WHERE unique_active = ? AND ${UNIQUE_LIVE}`, [key]),
    holders: (keys) =>
      sql(`SELECT id, unique_active FROM ${t.jobs} WHERE unique_active IN (${marks(keys.length)}) AND ${UNIQUE_LIVE}`, keys),
    // Through the unique index on unique_active, so InnoDB locks only the rows of these keys;
    // the window's end compared on the database's clock (see the PostgreSQL statement).
    releaseExpired: (keys) =>
      sql(`UPDATE ${t.jobs} SET unique_active = NULL WHERE unique_active IN (${marks(keys.length)}) AND unique_until <= ${NOW}`, keys),

    list: (where: ListWhere, limit, before) => {
      const cond: string[] = [];
      const params: unknown[] = [];
      const add = (expr: string, value: unknown) => {
        cond.push(expr);
        params.push(value);
      };
      if (where.queue !== undefined) add('queue = ?', where.queue);
      if (where.state !== undefined) add('state = ?', where.state);
      if (where.name !== undefined) add('name = ?', where.name);
      if (where.parentId !== undefined) add('parent_id = ?', where.parentId);
      if (where.batchId !== undefined) add('batch_id = ?', where.batchId);
      if (before !== null) add('id < ?', before);
      const w = cond.length ? `WHERE ${cond.join(' AND ')}` : '';
      return sql(`SELECT ${JOB_COLUMNS} FROM ${t.jobs} ${w} ORDER BY id DESC LIMIT ?`, [...params, limit]);
    },

    progress: (id, workerId, percent, data) =>
      sql(
        `UPDATE ${t.jobs} SET progress = ?, progress_data = CASE WHEN ? THEN ? ELSE progress_data END
         WHERE id = ? AND locked_by = ? AND state = 'running'`,
        [percent, data === undefined ? 0 : 1, data ?? null, id, workerId],
      ),

    cancel: (id) =>
      sql(
        `UPDATE ${t.jobs} SET
           failed_at = CASE WHEN state IN ${PENDING} THEN ${NOW} ELSE failed_at END,
           unique_active = CASE WHEN state IN ${PENDING} THEN NULL ELSE unique_active END,
           cancel_requested = (state = 'running'),
           state = CASE WHEN state IN ${PENDING} THEN 'cancelled' ELSE state END
         WHERE id = ? AND (state IN ${PENDING} OR state = 'running')`,
        [id],
      ),

    retry: (id, reacquire) =>
      sql(
        `UPDATE ${t.jobs} SET attempt = 0, interruptions = 0, run_at = ${NOW}, completed_at = NULL, failed_at = NULL, cancel_requested = 0,
           unique_active = CASE WHEN ? THEN unique_key ELSE unique_active END, state = 'available'
         WHERE id = ? AND state IN ${FINISHED}`,
        [reacquire ? 1 : 0, id],
      ),

    // Never later than it was: a job already due keeps its run_at (and its place in the claim order).
    runNow: (id) => sql(`UPDATE ${t.jobs} SET state = 'available', run_at = LEAST(run_at, ${NOW}) WHERE id = ? AND state IN ${PENDING}`, [id]),

    lockJob: (id) => sql(`SELECT id, queue, state, CAST(run_at AS CHAR) AS run_at, unique_key FROM ${t.jobs} WHERE id = ? FOR UPDATE`, [id]),
    applyDeltas: (deltas) => applyDeltas(t, deltas),

    // One statement (one read view): counters, unfolded deltas, and per queue the pending
    // jobs due later in the current minute through (state, queue, run_at).
    statsRows: (at, w: CounterWindow) =>
      sql(
        `SELECT 'counter' AS src, grain, CASE WHEN grain <> 's' THEN bucket WHEN bucket > ? THEN ? ELSE 0 END AS bucket,
                queue, event, SUM(n) AS n
         FROM ${t.counters}
         WHERE grain IN ('s', 'a') OR (grain = 'm' AND bucket > ?) OR (grain = 'h' AND bucket >= ?)
         GROUP BY grain, 3, queue, event
         UNION ALL
         SELECT 'delta', '', bucket, queue, event, SUM(n) FROM ${t.deltas} GROUP BY bucket, queue, event
         UNION ALL
         SELECT 'boundary', '', 0, q.queue, 'pending',
                (SELECT COUNT(*) FROM ${t.jobs} j
                 WHERE j.state IN ${PENDING} AND j.queue = q.queue AND j.run_at > ? AND j.run_at < ?)
         FROM (SELECT DISTINCT queue FROM ${t.counters} WHERE grain = 's' AND event = 'pending'
               UNION SELECT DISTINCT queue FROM ${t.deltas} WHERE event = 'pending') q`,
        [nextMinute(at) - 60_000, nextMinute(at), w.hourAgo, w.monthStart, utc(new Date(at)), utc(new Date(nextMinute(at)))],
      ),

    pause: (queue) =>
      sql(`INSERT INTO ${t.paused} (queue, paused_at) VALUES (?, ${NOW}) ON DUPLICATE KEY UPDATE queue = queue`, [queue]),
    resume: (queue) => sql(`DELETE FROM ${t.paused} WHERE queue = ?`, [queue]),
    pausedQueues: () => sql(`SELECT queue FROM ${t.paused} ORDER BY queue`),

    // claim_idx is on the generated pending_queue (the queue while pending, else NULL),
    // priority, run_at, id: read in order (see the claim in mysql.dialect.ts). `j.run_at`, not
    // a bare name that could mean a select-list copy.
    firstPendingAfter: (queue, afterPriority) =>
      sql(
        `SELECT j.priority, j.run_at FROM ${t.jobs} j FORCE INDEX (${t.index('claim_idx')})
         WHERE j.pending_queue = ? AND j.priority > ?
         ORDER BY j.priority, j.run_at, j.id LIMIT 1`,
        [queue, afterPriority],
      ),
    earliestDueAfter: (queue, afterPriority) =>
      sql(
        `SELECT min(j.run_at) AS run_at FROM ${t.jobs} j FORCE INDEX (${t.index('claim_idx')})
         WHERE j.pending_queue = ? AND j.priority > ? AND j.run_at <= ${NOW}`,
        [queue, afterPriority],
      ),

    // `finished_at` is a stored generated column (finished rows only), indexed with state:
    // MariaDB has no partial or expression indexes. One state per statement and ORDER BY
    // finished_at, so the (state, finished_at) index is the one that answers in order.
    prune: (olderThan, state, limit, queue) =>
      sql(`DELETE FROM ${t.jobs} WHERE state = ? AND finished_at < ? AND (? IS NULL OR queue = ?) AND (child_status IS NULL OR child_status = 2) ORDER BY finished_at LIMIT ? RETURNING queue`, [
        state,
        utc(olderThan),
        queue,
        queue,
        limit,
      ]),

    pruneCounters: (w: CounterWindow) =>
      sql(`DELETE FROM ${t.counters} WHERE (grain = 'm' AND bucket <= ?) OR (grain = 'h' AND bucket < ?)`, [
        w.hourAgo,
        w.monthStart,
      ]),
  };
}
