import type { CountDelta, CounterWindow, ListWhere } from '../dialect.js';
import { sql } from '../flow.js';
import { nextMinute } from '../stats.js';
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

/**
 * A row whose `unique_active` still holds its key: no unique window, or one that has not ended
 * on the database's clock. A holder whose window has ended keeps `unique_active` until an
 * enqueue of its key frees it (`releaseExpired`), so every read of holders asks this too.
 */
export const UNIQUE_LIVE = `(unique_until IS NULL OR unique_until > ${CLOCK})`;

/** A millisecond count as an interval; the count is always a bind parameter or a column. */
export const ms = (expr: string) => `(${expr})::float8 * interval '1 millisecond'`;

/** The columns of a JobRecord, in the order the mappers read them. */
const JOB_COLUMNS = [
  'id', 'queue', 'name', 'payload', 'state', 'priority', 'attempt', 'max_attempts', 'run_at', 'created_at', 'started_at',
  'completed_at', 'failed_at', 'locked_by', 'locked_until', 'last_error', 'unique_key', 'backoff', 'timeout_ms', 'progress',
  'progress_data', 'result', 'cancel_requested', 'interruptions', 'prefetched', 'rescued_unstarted', 'headers', 'job_group', 'parent_id', 'batch_id',
] as const;
const TIME_COLUMNS = new Set<string>(['run_at', 'created_at', 'started_at', 'completed_at', 'failed_at', 'locked_until']);
const JSON_COLUMNS = new Set<string>(['payload', 'headers', 'last_error', 'backoff', 'progress_data', 'result']);

/** A column of `alias` (or unqualified), JSON as text under its own name. */
const column = (c: string, alias?: string) => {
  const col = alias ? `${alias}.${c}` : c;
  return JSON_COLUMNS.has(c) ? `${col}::text AS ${c}` : col;
};

/**
 * The columns of a JobRecord. JSON columns come back as text, so every driver hands the row
 * mapper the same thing (node-pg would otherwise parse `json` itself, and a JSON string
 * value would then be indistinguishable from text).
 */
export const jobColumns = (alias?: string) => JOB_COLUMNS.map((c) => column(c, alias)).join(', ');

/**
 * The columns of a JobRecord for the claim, times as epoch milliseconds (`float8`, which
 * node-pg reads with `parseFloat`) instead of `timestamptz` (which it parses with a regular
 * expression per column into a `Date`): the claim returns hundreds of rows a second per worker,
 * and `asDate` takes either. Every column is still returned (handlers receive the record),
 * except those in `omit`, which the statement supplies itself.
 */
export const claimColumns = (alias: string, omit: readonly string[] = []) =>
  JOB_COLUMNS.filter((c) => !omit.includes(c))
    .map((c) => (TIME_COLUMNS.has(c) ? `${epochMs(`${alias}.${c}`)} AS ${c}` : column(c, alias)))
    .join(', ');

/**
 * A timestamptz(3) as epoch ms. `date_part` computes in `float8` (`extract` in `numeric`,
 * several times the cost per row, which the claim paid on every returned time); the value
 * is the stored microseconds over 10^6, within a few ULPs of the exact seconds, so `round`
 * of it times 1000 is exactly the stored millisecond.
 */
export const epochMs = (expr: string) => `round(date_part('epoch', ${expr}) * 1000)`;

/**
 * A one-row CTE body that makes the statement's own transaction commit without waiting for
 * its WAL to reach disk (`synchronous_commit = off`, local to that transaction). Only for
 * writes a database crash may undo without breaking a promise: a claim or a lease renewal.
 * Undone, the job is waiting again and runs again (at-least-once, as after a worker crash);
 * the enqueue that stored it and the outcome that finishes it stay durable, and a later
 * durable commit flushes the earlier asynchronous ones with it. Saves a disk flush on every
 * claim: the wait between a wake-up and the handler's start.
 */
export const ASYNC_COMMIT = `SELECT set_config('synchronous_commit', 'off', true) AS async_commit`;

/** The clock's minute, as epoch ms: the bucket of an event. */
export const MINUTE_NOW = `(floor(extract(epoch from ${CLOCK}) / 60) * 60000)::bigint`;

/** The pending-count bucket of a run_at: its minute if that is after the clock's, else 0 (due). */
export const bucketOf = (col: string) =>
  `CASE WHEN floor(extract(epoch from ${col}) / 60) > floor(extract(epoch from ${CLOCK}) / 60)
        THEN (floor(extract(epoch from ${col}) / 60) * 60000)::bigint ELSE 0 END`;

/**
 * The cheap form for the hottest statements (claim, complete): per queue of `source`, the
 * same changes for every row, `[event, sign, bucket]` each. One small aggregate joined to a
 * VALUES list plans and runs faster than `insertDeltas`' UNION.
 */
export const deltasPerQueue = (t: TableNames, source: string, changes: Array<[string, number, string]>) => `
  INSERT INTO ${t.deltas} (queue, event, bucket, n)
  SELECT d.queue, v.event, v.bucket, v.sign * d.n
  FROM (SELECT queue, count(*) AS n FROM ${source} GROUP BY queue) d
  CROSS JOIN (VALUES ${changes.map(([e, sign, b], i) => `('${e}'${i ? '' : '::text'}, ${sign}, (${b})::bigint)`).join(', ')}) AS v(event, sign, bucket)`;

/** Rows of `source` (a CTE with `queue`) as count changes: `n` each, in `bucket`. */
export const deltaPart = (source: string, event: string, n: number, bucket = '0', filter?: string) =>
  `SELECT queue, '${event}'::text AS event, (${bucket})::bigint AS bucket, ${n}::bigint AS n FROM ${source}${filter ? ` WHERE ${filter}` : ''}`;

/**
 * Roll-up count changes of a statement, appended in that statement (a data-modifying CTE)
 * to the delta table: inserts only, so concurrent workers never wait on a shared counter
 * row (they would, on the hot `all time` row, if every completion updated it). Folded into
 * `counter` in batches by `foldCounters`. `parts` come from `deltaPart`.
 */
export const insertDeltas = (t: TableNames, parts: string[]) => `
  INSERT INTO ${t.deltas} (queue, event, bucket, n)
  SELECT queue, event, bucket, sum(n) FROM (${parts.join(' UNION ALL ')}) d
  GROUP BY queue, event, bucket HAVING sum(n) <> 0`;

/**
 * Sends one NOTIFY per distinct queue of `source` (a CTE) whose rows match `filter`. The
 * aggregate forces the call to run (an unreferenced CTE would be skipped); NOTIFY is
 * delivered on commit, and identical payloads within a transaction are folded into one.
 */
export const notifyQueues = (source: string, channelParam: string, filter = 'true') =>
  `(SELECT count(pg_notify(${channelParam}, d.queue)) FROM (SELECT DISTINCT queue FROM ${source} WHERE ${filter}) d) >= 0`;

/**
 * Milliseconds from the database's clock until `runAt`, rounded up: a duration, so a listener
 * that times it on its own clock from the NOTIFY's arrival looks late by the delivery at most,
 * never early, whatever its clock says.
 */
export const dueInMs = (runAt: string) => `ceil(extract(epoch from (${runAt} - ${CLOCK})) * 1000)::bigint`;

/**
 * A delayed job says when it falls due: the payload `<queue>@<ms>` (see `dueInMs`; '@' cannot
 * be in a queue name, and `DUE_MARK` in `pg-listener.ts` parses it). A queue due now keeps the
 * plain `<queue>` payload, which instances of earlier versions read; they read this one as a
 * queue they do not run, and ignore it.
 */
export const dueInPayload = (queue: string, runAt: string) => `${queue} || '@' || ${dueInMs(runAt)}`;

/**
 * One NOTIFY per queue of `source` (a CTE with `queue`, `state`, `run_at`) that got delayed
 * rows, for its soonest one, when that falls due within `horizonParam` ms (see
 * `DELAYED_NOTIFY_HORIZON_MS` in `postgres-enqueue.ts`). Runs as `notifyQueues` does.
 */
export const notifyDelayed = (source: string, channelParam: string, horizonParam: string) =>
  `(SELECT count(pg_notify(${channelParam}, ${dueInPayload('d.queue', 'd.run_at')}))
    FROM (SELECT queue, min(run_at) AS run_at FROM ${source} WHERE state = 'scheduled' GROUP BY queue) d
    WHERE d.run_at <= ${CLOCK} + ${ms(horizonParam)}) >= 0`;

export function postgresStatements(t: TableNames): CommonStatements {
  const cols = jobColumns();
  return {
    now: () => sql(`SELECT floor(extract(epoch from ${CLOCK}) * 1000)::float8 AS now`),

    get: (id) => sql(`SELECT ${cols} FROM ${t.jobs} WHERE id = $1`, [id]),

    // The unique index on unique_active answers this (a holder whose window has ended is not one).
    byUniqueKey: (key) => sql(`SELECT ${cols} FROM ${t.jobs} WHERE unique_active = $1 AND ${UNIQUE_LIVE}`, [key]),

    holders: (keys) =>
      sql(`SELECT id, unique_active FROM ${t.jobs} WHERE unique_active = ANY($1::text[]) AND ${UNIQUE_LIVE}`, [keys]),

    // Reached through the unique index (a few rows at most), and only for keys an INSERT found
    // taken by no live holder: the window's end is compared on the database's clock, as it was
    // stamped (created_at + ttl), so instances whose clocks differ agree on it.
    releaseExpired: (keys) =>
      sql(`UPDATE ${t.jobs} SET unique_active = NULL WHERE unique_active = ANY($1::text[]) AND unique_until <= ${CLOCK}`, [keys]),

    // Only the filters asked for are in the WHERE (no `$1 IS NULL OR …`), so the planner can
    // pick a partial index for the state (claim, lease, finished, dead) or walk the primary
    // key backwards: keyset paging.
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
      if (where.parentId !== undefined) add((p) => `parent_id = ${p}::bigint`, where.parentId);
      if (where.batchId !== undefined) add((p) => `batch_id = ${p}::bigint`, where.batchId);
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
           UPDATE ${t.jobs} SET state = 'available', attempt = 0, interruptions = 0, run_at = ${NOW}, completed_at = NULL,
             failed_at = NULL, cancel_requested = false,
             unique_active = CASE WHEN $2::boolean THEN unique_key ELSE unique_active END
           WHERE id = $1 AND state IN ${FINISHED}
           RETURNING queue)
         SELECT count(pg_notify($3, queue)) AS n FROM r`,
        [id, reacquire, t.channel],
      ),

    // Never later than it was: a job already due keeps its run_at (and its place in the claim order).
    runNow: (id) => sql(`UPDATE ${t.jobs} SET state = 'available', run_at = LEAST(run_at, ${NOW}) WHERE id = $1 AND state IN ${PENDING}`, [id]),

    lockJob: (id) => sql(`SELECT id, queue, state, run_at, unique_key FROM ${t.jobs} WHERE id = $1 FOR UPDATE`, [id]),

    applyDeltas: (deltas: CountDelta[]) =>
      sql(
        `INSERT INTO ${t.deltas} (queue, event, bucket, n)
         SELECT queue, event,
                CASE WHEN event IN ('completed', 'died') THEN ${MINUTE_NOW}
                     WHEN event = 'pending' AND run_at IS NOT NULL THEN ${bucketOf('run_at')} ELSE 0 END,
                n
         FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::bigint[]) AS d(queue, event, run_at, n)`,
        [deltas.map((d) => d.queue), deltas.map((d) => d.event), deltas.map((d) => d.runAt ?? null), deltas.map((d) => d.n)],
      ),

    // One statement, one snapshot: folded counters (a few rows per queue: the 's' state rows,
    // summed here into due / later than this minute, minutes of the last hour, hours of this
    // month, all-time rows), deltas not folded yet, and per queue an index range of
    // future_idx (queue, run_at) over the rest of the current minute.
    statsRows: (at, w: CounterWindow) =>
      sql(
        `SELECT 'counter' AS src, grain, CASE WHEN grain <> 's' THEN bucket WHEN bucket > $5 THEN $6 ELSE 0 END AS bucket,
                queue, event, sum(n)::float8 AS n
         FROM ${t.counters}
         WHERE grain IN ('s', 'a') OR (grain = 'm' AND bucket > $1) OR (grain = 'h' AND bucket >= $2)
         GROUP BY grain, 3, queue, event
         UNION ALL
         SELECT 'delta', '', bucket, queue, event, sum(n)::float8 FROM ${t.deltas} GROUP BY bucket, queue, event
         UNION ALL
         -- Only scheduled and retryable jobs can be later than the clock (an available job is
         -- due when written); the partial index future_idx (migration 3) answers this.
         SELECT 'boundary', '', 0, q.queue, 'pending',
                (SELECT count(*) FROM ${t.jobs} j
                 WHERE j.state IN ('scheduled', 'retryable') AND j.queue = q.queue AND j.run_at > $3 AND j.run_at < $4)::float8
         FROM (SELECT DISTINCT queue FROM ${t.counters} WHERE grain = 's' AND event = 'pending'
               UNION SELECT DISTINCT queue FROM ${t.deltas} WHERE event = 'pending') q`,
        [w.hourAgo, w.monthStart, new Date(at), new Date(nextMinute(at)), nextMinute(at) - 60_000, nextMinute(at)],
      ),

    // The partial claim_idx (queue, priority, run_at, id) WHERE state IN PENDING, read in order.
    firstPendingAfter: (queue, afterPriority) =>
      sql(
        `SELECT priority, run_at FROM ${t.jobs}
         WHERE queue = $1 AND state IN ${PENDING} AND priority > $2
         ORDER BY priority, run_at, id LIMIT 1`,
        [queue, afterPriority],
      ),
    earliestDueAfter: (queue, afterPriority) =>
      sql(
        `SELECT min(run_at) AS run_at FROM ${t.jobs}
         WHERE queue = $1 AND state IN ${PENDING} AND priority > $2 AND run_at <= ${CLOCK}`,
        [queue, afterPriority],
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
    prune: (olderThan, state, limit, queue) =>
      sql(
        `WITH doomed AS (
           SELECT id FROM ${t.jobs}
           WHERE state IN ${FINISHED} AND state = $1
             AND COALESCE(completed_at, failed_at, created_at) < $2
             AND ($4::text IS NULL OR queue = $4)
             AND (child_status IS NULL OR child_status = 2)
           LIMIT $3 FOR UPDATE SKIP LOCKED)
         DELETE FROM ${t.jobs} WHERE id = ANY (ARRAY(SELECT id FROM doomed)) RETURNING queue`,
        [state, olderThan, limit, queue],
      ),

    // Minute rows older than an hour and hour rows before this month are never read again.
    pruneCounters: (w: CounterWindow) =>
      sql(`DELETE FROM ${t.counters} WHERE (grain = 'm' AND bucket <= $1) OR (grain = 'h' AND bucket < $2)`, [
        w.hourAgo,
        w.monthStart,
      ]),
  };
}
