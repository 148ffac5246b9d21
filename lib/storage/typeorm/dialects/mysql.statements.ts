import type { CounterEvent, CounterWindow, ListWhere } from '../dialect.js';
import { sql, type Sql } from '../flow.js';
import type { TableNames } from '../table-names.js';
import type { CommonStatements } from './common-flows.js';

/**
 * MariaDB (10.6+) SQL, MySQL 8 syntax where it has an equivalent. Times are DATETIME(3)
 * holding UTC, compared with `UTC_TIMESTAMP(3)`, so neither the session's `time_zone` nor
 * Node's matters. They are bound as UTC text and read back as text (`CAST … AS CHAR`),
 * because the driver would otherwise convert them through its own time-zone setting.
 * In a single-table UPDATE MariaDB applies assignments left to right, each seeing the ones
 * before: `state` (and `cancel_requested`) come last wherever others read them.
 */

export const PENDING = `('scheduled', 'available', 'retryable')`;
export const FINISHED = `('completed', 'dead', 'cancelled')`;
export const NOW = 'UTC_TIMESTAMP(3)';

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
  'unique_key', 'backoff', 'timeout_ms', 'progress', 'progress_data', 'result', 'cancel_requested',
].join(', ');

/**
 * Roll-up counters (minute, hour, all-time rows per queue) for `counts`, in the caller's
 * transaction. Rows are sorted by queue so concurrent bumps lock them in one order.
 */
export function bumpCounters(t: TableNames, event: CounterEvent, counts: Array<{ q: string; n: number }>): Sql {
  const rows: string[] = [];
  const params: unknown[] = [];
  for (const { q, n } of counts) {
    rows.push(`('a', 0, ?, ?, ?)`, `('h', (${EPOCH_MS} DIV 3600000) * 3600000, ?, ?, ?)`, `('m', (${EPOCH_MS} DIV 60000) * 60000, ?, ?, ?)`);
    params.push(q, event, n, q, event, n, q, event, n);
  }
  return sql(
    `INSERT INTO ${t.counters} (grain, bucket, queue, event, n) VALUES ${rows.join(', ')}
     ON DUPLICATE KEY UPDATE n = n + VALUES(n)`,
    params,
  );
}

export function mysqlStatements(t: TableNames): CommonStatements {
  return {
    now: () => sql(`SELECT ${EPOCH_MS} AS now`),
    get: (id) => sql(`SELECT ${JOB_COLUMNS} FROM ${t.jobs} WHERE id = ?`, [id]),
    byUniqueKey: (key) => sql(`SELECT ${JOB_COLUMNS} FROM ${t.jobs} WHERE unique_active = ?`, [key]),
    holders: (keys) => sql(`SELECT id, unique_active FROM ${t.jobs} WHERE unique_active IN (${marks(keys.length)})`, keys),

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
        `UPDATE ${t.jobs} SET attempt = 0, run_at = ${NOW}, completed_at = NULL, failed_at = NULL, cancel_requested = 0,
           unique_active = CASE WHEN ? THEN unique_key ELSE unique_active END, state = 'available'
         WHERE id = ? AND state IN ${FINISHED}`,
        [reacquire ? 1 : 0, id],
      ),

    stateCounts: () =>
      sql(
        `SELECT queue, state, (run_at <= ${NOW}) AS due, COUNT(*) AS n FROM ${t.jobs}
         WHERE state IN ('scheduled', 'available', 'retryable', 'running', 'dead')
         GROUP BY queue, state, due`,
      ),

    counters: (w: CounterWindow) =>
      sql(
        `SELECT queue, event,
           COALESCE(SUM(CASE WHEN grain = 'm' AND bucket > ? THEN n END), 0) AS last_hour,
           COALESCE(SUM(CASE WHEN grain = 'h' AND bucket >= ? THEN n END), 0) AS today,
           COALESCE(SUM(CASE WHEN grain = 'h' AND bucket >= ? THEN n END), 0) AS this_month,
           COALESCE(SUM(CASE WHEN grain = 'a' THEN n END), 0) AS all_time
         FROM ${t.counters}
         WHERE (grain = 'm' AND bucket > ?) OR (grain = 'h' AND bucket >= ?) OR grain = 'a'
         GROUP BY queue, event`,
        [w.hourAgo, w.dayStart, w.monthStart, w.hourAgo, w.monthStart],
      ),

    pause: (queue) =>
      sql(`INSERT INTO ${t.paused} (queue, paused_at) VALUES (?, ${NOW}) ON DUPLICATE KEY UPDATE queue = queue`, [queue]),
    resume: (queue) => sql(`DELETE FROM ${t.paused} WHERE queue = ?`, [queue]),
    pausedQueues: () => sql(`SELECT queue FROM ${t.paused} ORDER BY queue`),

    // `finished_at` is a stored generated column (finished rows only), indexed with state:
    // MariaDB has no partial or expression indexes. One state per statement and ORDER BY
    // finished_at, so the (state, finished_at) index is the one that answers in order.
    prune: (olderThan, state, limit) =>
      sql(`DELETE FROM ${t.jobs} WHERE state = ? AND finished_at < ? ORDER BY finished_at LIMIT ?`, [state, utc(olderThan), limit]),

    pruneCounters: (w: CounterWindow) =>
      sql(`DELETE FROM ${t.counters} WHERE (grain = 'm' AND bucket <= ?) OR (grain = 'h' AND bucket < ?)`, [
        w.hourAgo,
        w.monthStart,
      ]),
  };
}
