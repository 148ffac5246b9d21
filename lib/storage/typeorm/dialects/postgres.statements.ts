import type { CounterWindow, ListWhere } from '../dialect.js';
import { sql, type Sql } from '../flow.js';
import type { TableNames } from '../table-names.js';
import type { CommonStatements } from './common-flows.js';

/**
 * PostgreSQL SQL shared by several statements. Times are `timestamptz(3)`; the clock is the
 * database's, as `CLOCK`.
 */

/**
 * The database clock: `statement_timestamp()`, not `now()`. They agree for our own
 * statements (each is its own transaction), but inside a caller's transaction (`manager`,
 * `completeWithin`) `now()` is when that transaction began: a job enqueued with a delay at
 * the end of a long transaction would come due early, and completion times would be stale.
 */
export const CLOCK = 'statement_timestamp()';

/** States a job waits in. Spelled out literally so the planner matches the partial claim index. */
export const PENDING = `('scheduled', 'available', 'retryable')`;
export const FINISHED = `('completed', 'dead', 'cancelled')`;

/**
 * The clock cut to whole milliseconds. Storing it as is into a `timestamptz(3)` column would
 * round it, up to 0.5 ms into the future, and a job enqueued then claimed within that
 * half-millisecond would not yet be due. Truncating keeps every stored time <= the clock.
 */
export const NOW = `date_trunc('milliseconds', ${CLOCK})`;

/** Epoch ms of the clock, for counter buckets. */
const EPOCH_MS = `(extract(epoch from ${CLOCK}) * 1000)`;

/** A millisecond count as an interval; the count is always a bind parameter or a column. */
export const ms = (expr: string) => `(${expr})::float8 * interval '1 millisecond'`;

/**
 * The columns of a JobRecord. JSON columns come back as text, so every driver hands the row
 * mapper the same thing (node-pg would otherwise parse `json` itself, and a JSON string
 * value would then be indistinguishable from text).
 */
export const jobColumns = (alias?: string) =>
  [
    'id', 'queue', 'name', 'payload::text AS payload', 'state', 'priority', 'attempt', 'max_attempts', 'run_at',
    'created_at', 'started_at', 'completed_at', 'failed_at', 'locked_by', 'locked_until',
    'last_error::text AS last_error', 'unique_key', 'backoff::text AS backoff', 'timeout_ms', 'progress',
    'progress_data::text AS progress_data', 'result::text AS result', 'cancel_requested',
  ].map((c) => (alias ? `${alias}.${c}` : c)).join(', ');

/**
 * Roll-up counters, bumped in the same statement as the state change (a data-modifying
 * CTE): one row per queue and minute, per queue and hour, and an all-time row, so `stats()`
 * reads a few hundred rows per queue however many jobs ran or were pruned. `source` is a
 * CTE with `queue` (and whatever `filter` needs). Ordered, so concurrent bumps of several
 * queues lock counter rows in the same order and cannot deadlock.
 */
export const bumpCounters = (t: TableNames, event: 'completed' | 'died', source: string, filter = 'true') => `
  INSERT INTO ${t.counters} AS c (grain, bucket, queue, event, n)
  SELECT g.grain,
         CASE g.grain WHEN 'm' THEN floor(${EPOCH_MS} / 60000)::bigint * 60000
                      WHEN 'h' THEN floor(${EPOCH_MS} / 3600000)::bigint * 3600000
                      ELSE 0 END,
         s.queue, '${event}', count(*)
  FROM ${source} s CROSS JOIN (VALUES ('a'), ('h'), ('m')) AS g(grain)
  WHERE ${filter}
  GROUP BY g.grain, s.queue
  ORDER BY g.grain, s.queue
  ON CONFLICT (grain, bucket, queue, event) DO UPDATE SET n = c.n + excluded.n`;

/**
 * Sends one NOTIFY per distinct queue of `source` (a CTE) whose rows match `filter`. The
 * aggregate forces the call to run (an unreferenced CTE would be skipped); NOTIFY is
 * delivered on commit, and identical payloads within a transaction are folded into one.
 */
export const notifyQueues = (source: string, channelParam: string, filter = 'true') =>
  `(SELECT count(pg_notify(${channelParam}, d.queue)) FROM (SELECT DISTINCT queue FROM ${source} WHERE ${filter}) d) >= 0`;

export function postgresStatements(t: TableNames): CommonStatements {
  const cols = jobColumns();
  return {
    now: () => sql(`SELECT floor(extract(epoch from ${CLOCK}) * 1000)::float8 AS now`),

    get: (id) => sql(`SELECT ${cols} FROM ${t.jobs} WHERE id = $1`, [id]),

    // The unique index on unique_active answers this.
    byUniqueKey: (key) => sql(`SELECT ${cols} FROM ${t.jobs} WHERE unique_active = $1`, [key]),

    holders: (keys) => sql(`SELECT id, unique_active FROM ${t.jobs} WHERE unique_active = ANY($1::text[])`, [keys]),

    // Only the filters asked for are in the WHERE (no `$1 IS NULL OR …`), so the planner
    // can use (queue, id) or (state, queue, run_at) and walk ids backwards: keyset paging.
    list: (where: ListWhere, limit, before) => {
      const params: unknown[] = [];
      const cond: string[] = [];
      const add = (expr: (p: string) => string, value: unknown) => {
        params.push(value);
        cond.push(expr(`$${params.length}`));
      };
      if (where.queue !== undefined) add((p) => `queue = ${p}`, where.queue);
      if (where.state !== undefined) add((p) => `state = ${p}`, where.state);
      if (where.name !== undefined) add((p) => `name = ${p}`, where.name);
      if (before !== null) add((p) => `id < ${p}::bigint`, before);
      params.push(limit);
      const w = cond.length ? `WHERE ${cond.join(' AND ')}` : '';
      return sql(`SELECT ${cols} FROM ${t.jobs} ${w} ORDER BY id DESC LIMIT $${params.length}`, params);
    },

    // Guarded like every write after a claim. `$5` says whether `data` was given at all.
    progress: (id, workerId, percent, data) =>
      sql(
        `UPDATE ${t.jobs} SET progress = $3, progress_data = CASE WHEN $5::boolean THEN $4::text::json ELSE progress_data END
         WHERE id = $1 AND locked_by = $2 AND state = 'running'`,
        [id, workerId, percent, data ?? null, data !== undefined],
      ),

    // A waiting job is cancelled at once (and frees its unique key); a running one only gets
    // the flag, and a NOTIFY '!cancel:<id>' tells its worker without waiting for a heartbeat.
    cancel: (id) =>
      sql(
        `WITH c AS (
           UPDATE ${t.jobs} SET
             state = CASE WHEN state IN ${PENDING} THEN 'cancelled' ELSE state END,
             failed_at = CASE WHEN state IN ${PENDING} THEN ${NOW} ELSE failed_at END,
             unique_active = CASE WHEN state IN ${PENDING} THEN NULL ELSE unique_active END,
             cancel_requested = (state = 'running')
           WHERE id = $1 AND (state IN ${PENDING} OR state = 'running')
           RETURNING ${cols})
         SELECT c.* FROM c
         WHERE c.state <> 'running' OR (SELECT count(*) FROM (SELECT pg_notify($2, '!cancel:' || c.id)) AS n) >= 0`,
        [id, t.channel],
      ),

    retry: (id, reacquire) =>
      sql(
        `WITH r AS (
           UPDATE ${t.jobs} SET state = 'available', attempt = 0, run_at = ${NOW}, completed_at = NULL,
             failed_at = NULL, cancel_requested = false,
             unique_active = CASE WHEN $2::boolean THEN unique_key ELSE unique_active END
           WHERE id = $1 AND state IN ${FINISHED}
           RETURNING queue)
         SELECT count(pg_notify($3, queue)) AS n FROM r`,
        [id, reacquire, t.channel],
      ),

    // Pending, running and dead rows only: an index-only scan of (state, queue, run_at).
    stateCounts: () =>
      sql(
        `SELECT queue, state, (run_at <= ${CLOCK}) AS due, count(*)::int AS n FROM ${t.jobs}
         WHERE state IN ('scheduled', 'available', 'retryable', 'running', 'dead')
         GROUP BY queue, state, due`,
      ),

    // Three primary-key ranges: minutes of the last hour, hours of this month, all-time rows.
    counters: (w: CounterWindow) =>
      sql(
        `SELECT queue, event,
           coalesce(sum(n) FILTER (WHERE grain = 'm' AND bucket > $1), 0)::float8 AS last_hour,
           coalesce(sum(n) FILTER (WHERE grain = 'h' AND bucket >= $2), 0)::float8 AS today,
           coalesce(sum(n) FILTER (WHERE grain = 'h' AND bucket >= $3), 0)::float8 AS this_month,
           coalesce(sum(n) FILTER (WHERE grain = 'a'), 0)::float8 AS all_time
         FROM ${t.counters}
         WHERE (grain = 'm' AND bucket > $1) OR (grain = 'h' AND bucket >= $3) OR grain = 'a'
         GROUP BY queue, event`,
        [w.hourAgo, w.dayStart, w.monthStart],
      ),

    pause: (queue) => sql(`INSERT INTO ${t.paused} (queue, paused_at) VALUES ($1, ${CLOCK}) ON CONFLICT DO NOTHING`, [queue]),

    resume: (queue) =>
      sql(
        `WITH d AS (DELETE FROM ${t.paused} WHERE queue = $1 RETURNING queue)
         SELECT count(pg_notify($2, queue)) AS n FROM d`,
        [queue, t.channel],
      ),

    pausedQueues: () => sql(`SELECT queue FROM ${t.paused} ORDER BY queue`),

    // A bounded batch through the partial "finished" index; SKIP LOCKED so two pruners (or
    // a pruner and a retry) never wait on each other. `id = ANY(ARRAY(…))` keeps the DELETE
    // on primary-key lookups (a join with the CTE may be planned as a scan of the table).
    prune: (olderThan, state, limit) =>
      sql(
        `WITH doomed AS (
           SELECT id FROM ${t.jobs}
           WHERE state IN ${FINISHED} AND state = $1
             AND COALESCE(completed_at, failed_at, created_at) < $2
           LIMIT $3 FOR UPDATE SKIP LOCKED)
         DELETE FROM ${t.jobs} WHERE id = ANY (ARRAY(SELECT id FROM doomed))`,
        [state, olderThan, limit],
      ),

    // Minute rows older than an hour and hour rows before this month are never read again.
    pruneCounters: (w: CounterWindow) =>
      sql(`DELETE FROM ${t.counters} WHERE (grain = 'm' AND bucket <= $1) OR (grain = 'h' AND bucket < $2)`, [
        w.hourAgo,
        w.monthStart,
      ]),
  };
}
