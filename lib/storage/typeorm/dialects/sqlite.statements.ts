import type { CountDelta, CounterWindow, ListWhere } from '../dialect.js';
import { sql, type Row, type Sql } from '../flow.js';
import { nextMinute } from '../stats.js';
import type { TableNames } from '../table-names.js';
import type { CommonStatements } from './common-flows.js';

/**
 * SQLite SQL. Times are INTEGER epoch milliseconds (SQLite has no time type, and integers
 * compare and index exactly); the clock is SQLite's own, fixed for the length of a
 * statement. Batches travel as one JSON parameter read with `json_each`, so statements
 * have constant text (prepared once, cached) and no bind-parameter limit applies.
 */

export const PENDING = `('scheduled', 'available', 'retryable')`;
export const FINISHED = `('completed', 'dead', 'cancelled')`;

/** Epoch ms. `unixepoch('subsec')` is seconds as a float; rounding removes its binary fuzz. */
export const NOW = `CAST(ROUND(unixepoch('subsec') * 1000) AS INTEGER)`;

/** A row whose `unique_active` still holds its key: no window, or one not ended (see the PostgreSQL `UNIQUE_LIVE`). */
export const UNIQUE_LIVE = `(unique_until IS NULL OR unique_until > ${NOW})`;

const JOB_COLUMN_NAMES = [
  'id', 'queue', 'name', 'payload', 'state', 'priority', 'attempt', 'max_attempts', 'run_at', 'created_at', 'started_at',
  'completed_at', 'failed_at', 'locked_by', 'locked_until', 'last_error', 'unique_key', 'backoff', 'timeout_ms', 'progress',
  'progress_data', 'result', 'cancel_requested', 'interruptions', 'prefetched', 'rescued_unstarted', 'headers', 'job_group', 'parent_id', 'batch_id',
] as const;

export const JOB_COLUMNS = JOB_COLUMN_NAMES.join(', ');

/**
 * A whole job as one JSON array, for statements that return many jobs (the claim).
 * better-sqlite3 builds each 25-column row as an object key by key, which is slow: a
 * 250-job claim, decoded into JobRecords, took 2.6 ms with plain columns and 2.0 ms with one
 * JSON text per row parsed in one `JSON.parse` (medians, better-sqlite3 12 here). Values
 * keep their types: integers (ids, epoch ms) stay numbers, TEXT (the JSON columns too)
 * stays text.
 */
export const JOB_JSON = `json_array(${JOB_COLUMNS}) AS job`;

/**
 * Decodes a JSON array of `JOB_JSON` values into the rows `toJobRecord` reads. One literal
 * per row (one object shape, no per-key lookups); the keys follow `JOB_COLUMN_NAMES`.
 */
export function rowsOfJobsJson(text: string): Row[] {
  return (JSON.parse(text) as unknown[][]).map((v) => ({
    id: v[0], queue: v[1], name: v[2], payload: v[3], state: v[4], priority: v[5], attempt: v[6], max_attempts: v[7],
    run_at: v[8], created_at: v[9], started_at: v[10], completed_at: v[11], failed_at: v[12], locked_by: v[13],
    locked_until: v[14], last_error: v[15], unique_key: v[16], backoff: v[17], timeout_ms: v[18], progress: v[19],
    progress_data: v[20], result: v[21], cancel_requested: v[22], interruptions: v[23], prefetched: v[24], rescued_unstarted: v[25],
    headers: v[26],
    job_group: v[27],
    parent_id: v[28], batch_id: v[29],
  }));
}

/** better-sqlite3 binds numbers, strings, null: times as epoch ms, ids as integers in JSON. */
export const msOf = (d: Date | null) => (d === null ? null : d.getTime());
export const idsJson = (ids: string[]) => JSON.stringify(ids.map(Number));

/**
 * Applies roll-up count changes (see `CountDelta`) to the counters, in the caller's
 * transaction. SQLite has one writer, so updating the counter rows directly contends with
 * nobody; no delta table. Events go to their minute, hour and all-time rows; state counts to
 * their 's' row (pending: the minute it comes due when after the current one, else 0).
 */
export function applyDeltas(t: TableNames, deltas: CountDelta[]): Sql {
  // Plain VALUES (one prepared text per shape of the list): a write's few changes cost an
  // upsert each, far less than reading them back out of a JSON parameter.
  const rows: string[] = [];
  const params: unknown[] = [];
  for (const d of deltas) {
    if (d.event === 'completed' || d.event === 'died') {
      rows.push(`('m', (${NOW} / 60000) * 60000, ?, ?, ?)`, `('h', (${NOW} / 3600000) * 3600000, ?, ?, ?)`, `('a', 0, ?, ?, ?)`);
      params.push(d.queue, d.event, d.n, d.queue, d.event, d.n, d.queue, d.event, d.n);
    } else if (d.event === 'pending' && d.runAt != null) {
      // CAST: better-sqlite3 binds every JS number as REAL, and a REAL division would not
      // floor to the minute (a job due later this minute would land in a bucket of its own).
      rows.push(`('s', CASE WHEN CAST(? AS INTEGER) / 60000 > ${NOW} / 60000 THEN (CAST(? AS INTEGER) / 60000) * 60000 ELSE 0 END, ?, ?, ?)`);
      params.push(d.runAt, d.runAt, d.queue, d.event, d.n);
    } else {
      rows.push(`('s', 0, ?, ?, ?)`);
      params.push(d.queue, d.event, d.n);
    }
  }
  return sql(
    `INSERT INTO ${t.counters} (grain, bucket, queue, event, n) VALUES ${rows.join(', ')}
     ON CONFLICT (grain, bucket, queue, event) DO UPDATE SET n = n + excluded.n`,
    params,
  );
}

export function sqliteStatements(t: TableNames): CommonStatements {
  return {
    now: () => sql(`SELECT ${NOW} AS now`),
    get: (id) => sql(`SELECT ${JOB_COLUMNS} FROM ${t.jobs} WHERE id = ?`, [Number(id)]),
    byUniqueKey: (key) => sql(`SELECT ${JOB_COLUMNS} FROM ${t.jobs} WHERE unique_active = ? AND ${UNIQUE_LIVE}`, [key]),
    holders: (keys) =>
      sql(`SELECT id, unique_active FROM ${t.jobs} WHERE unique_active IN (SELECT value FROM json_each(?)) AND ${UNIQUE_LIVE}`, [
        JSON.stringify(keys),
      ]),
    // Through the unique index on unique_active; the window's end compared on the database's
    // clock (see the PostgreSQL statement).
    releaseExpired: (keys) =>
      sql(`UPDATE ${t.jobs} SET unique_active = NULL WHERE unique_active IN (SELECT value FROM json_each(?)) AND unique_until <= ${NOW}`, [
        JSON.stringify(keys),
      ]),

    // Only the filters asked for, so SQLite can pick (queue, id) or (state, queue, run_at).
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
      if (where.parentId !== undefined) add('parent_id = ?', Number(where.parentId));
      if (where.batchId !== undefined) add('batch_id = ?', Number(where.batchId));
      if (before !== null) add('id < ?', Number(before));
      const w = cond.length ? `WHERE ${cond.join(' AND ')}` : '';
      return sql(`SELECT ${JOB_COLUMNS} FROM ${t.jobs} ${w} ORDER BY id DESC LIMIT ?`, [...params, limit]);
    },

    progress: (id, workerId, percent, data) =>
      sql(
        `UPDATE ${t.jobs} SET progress = ?, progress_data = CASE WHEN ? THEN ? ELSE progress_data END
         WHERE id = ? AND locked_by = ? AND state = 'running'`,
        [percent, data === undefined ? 0 : 1, data ?? null, Number(id), workerId],
      ),

    cancel: (id) =>
      sql(
        `UPDATE ${t.jobs} SET
           state = CASE WHEN state IN ${PENDING} THEN 'cancelled' ELSE state END,
           failed_at = CASE WHEN state IN ${PENDING} THEN ${NOW} ELSE failed_at END,
           unique_active = CASE WHEN state IN ${PENDING} THEN NULL ELSE unique_active END,
           cancel_requested = (state = 'running')
         WHERE id = ? AND (state IN ${PENDING} OR state = 'running')
         RETURNING ${JOB_COLUMNS}`,
        [Number(id)],
      ),

    retry: (id, reacquire) =>
      sql(
        `UPDATE ${t.jobs} SET state = 'available', attempt = 0, interruptions = 0, run_at = ${NOW}, completed_at = NULL, failed_at = NULL,
           cancel_requested = 0, unique_active = CASE WHEN ? THEN unique_key ELSE unique_active END
         WHERE id = ? AND state IN ${FINISHED}`,
        [reacquire ? 1 : 0, Number(id)],
      ),

    // Never later than it was: a job already due keeps its run_at (and its place in the claim order).
    runNow: (id) => sql(`UPDATE ${t.jobs} SET state = 'available', run_at = MIN(run_at, ${NOW}) WHERE id = ? AND state IN ${PENDING}`, [Number(id)]),

    lockJob: (id) => sql(`SELECT id, queue, state, run_at, unique_key FROM ${t.jobs} WHERE id = ?`, [Number(id)]),
    applyDeltas: (deltas) => applyDeltas(t, deltas),

    // One statement: the counters (few rows per queue) and, per queue with pending jobs, the
    // ones due later in the current minute, through (state, queue, run_at).
    statsRows: (at, w: CounterWindow) =>
      sql(
        `SELECT 'counter' AS src, grain, CASE WHEN grain <> 's' THEN bucket WHEN bucket > ? THEN ? ELSE 0 END AS bucket,
                queue, event, sum(n) AS n
         FROM ${t.counters}
         WHERE grain IN ('s', 'a') OR (grain = 'm' AND bucket > ?) OR (grain = 'h' AND bucket >= ?)
         GROUP BY grain, 3, queue, event
         UNION ALL
         SELECT 'boundary', '', 0, q.queue, 'pending',
                (SELECT count(*) FROM ${t.jobs} j
                 WHERE j.state IN ('scheduled', 'retryable') AND j.queue = q.queue AND j.run_at > ? AND j.run_at < ?)
         FROM (SELECT DISTINCT queue FROM ${t.counters} WHERE grain = 's' AND event = 'pending') q`,
        [nextMinute(at) - 60_000, nextMinute(at), w.hourAgo, w.monthStart, at, nextMinute(at)],
      ),

    pause: (queue) => sql(`INSERT INTO ${t.paused} (queue, paused_at) VALUES (?, ${NOW}) ON CONFLICT DO NOTHING`, [queue]),
    resume: (queue) => sql(`DELETE FROM ${t.paused} WHERE queue = ?`, [queue]),
    pausedQueues: () => sql(`SELECT queue FROM ${t.paused} ORDER BY queue`),

    // The partial claim_idx (queue, priority, run_at, id) WHERE state IN PENDING, pinned as the
    // claim pins it (SQLite plans without statistics unless the app runs ANALYZE).
    firstPendingAfter: (queue, afterPriority) =>
      sql(
        `SELECT priority, run_at FROM ${t.jobs} INDEXED BY ${t.index('claim_idx')}
         WHERE queue = ? AND state IN ${PENDING} AND priority > ?
         ORDER BY priority, run_at, id LIMIT 1`,
        [queue, afterPriority],
      ),
    earliestDueAfter: (queue, afterPriority) =>
      sql(
        `SELECT min(run_at) AS run_at FROM ${t.jobs} INDEXED BY ${t.index('claim_idx')}
         WHERE queue = ? AND state IN ${PENDING} AND priority > ? AND run_at <= ${NOW}`,
        [queue, afterPriority],
      ),

    prune: (olderThan, state, limit, queue) =>
      sql(
        `DELETE FROM ${t.jobs} WHERE id IN (
           SELECT id FROM ${t.jobs} INDEXED BY ${t.index('finished_idx')}
           WHERE state IN ${FINISHED} AND state = ?
             AND COALESCE(completed_at, failed_at, created_at) < ?
             AND (? IS NULL OR queue = ?)
             AND (child_status IS NULL OR child_status = 2)
           LIMIT ?)
         RETURNING queue`,
        [state, olderThan.getTime(), queue, queue, limit],
      ),

    pruneCounters: (w: CounterWindow) =>
      sql(`DELETE FROM ${t.counters} WHERE (grain = 'm' AND bucket <= ?) OR (grain = 'h' AND bucket < ?)`, [
        w.hourAgo,
        w.monthStart,
      ]),
  };
}
