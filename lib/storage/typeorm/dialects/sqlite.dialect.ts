import type { CompleteRow, Dialect, FailRow, InsertRow } from '../dialect.js';
import { sql, step, type Row } from '../flow.js';
import { asBool, asNumber, asString } from '../job-row.js';
import type { TableNames } from '../table-names.js';
import { deltasOf } from './batch-helpers.js';
import { commonFlows } from './common-flows.js';
import { sqliteFold } from './fold-statements.js';
import { sqliteRecount } from './recount-statements.js';
import { firstNewId, firstNewIdParams, sawIds } from './sqlite-ids.js';
import { applyDeltas, idsJson, JOB_COLUMNS, JOB_JSON, msOf, NOW, PENDING, rowsOfJobsJson, sqliteStatements } from './sqlite.statements.js';

/**
 * SQLite: the executor runs each step synchronously, multi-statement ones inside `BEGIN
 * IMMEDIATE` (see `sqlite.executor.ts`). Nothing else writes in between, so the claim's
 * `id IN (SELECT … LIMIT n)` cannot over-claim as it could on PostgreSQL.
 * Guarded batch writes spell the guard `+state = 'running'`: the unary plus keeps SQLite
 * from driving the statement through the (state, …) index, which would visit every running
 * job once per batch item; the ids then drive it through the primary key.
 */
export function sqliteDialect(t: TableNames): Dialect {
  /**
   * Enqueue: one INSERT … SELECT over the JSON batch, in input order. ON CONFLICT DO NOTHING
   * skips rows whose unique key is held (the unique index on `unique_active`). The
   * `WHERE true` is required: without it SQLite would read `ON CONFLICT` as a join's ON.
   * A unique window's end (`unique_until`) is stamped from the database's clock like
   * `created_at` (NULL without a window: NULL + a number is NULL).
   * Ids are given, never reused (see `sqlite-ids.ts`): the first new id plus the row's place.
   */
  const insertJobs = (rows: InsertRow[]) =>
    sql(
      `INSERT INTO ${t.jobs} (id, queue, name, payload, state, priority, max_attempts, run_at, created_at,
                              unique_key, unique_while, unique_active, unique_until, backoff, timeout_ms, headers, job_group)
       SELECT b.base + i.ord, i.queue, i.name, i.payload, CASE WHEN i.due_at > ${NOW} THEN 'scheduled' ELSE 'available' END,
              i.priority, i.max_attempts, i.due_at, ${NOW}, i.unique_key, i.unique_while, i.unique_key,
              ${NOW} + i.unique_ttl_ms, i.backoff, i.timeout_ms, i.headers, i.job_group
       FROM ${firstNewId(t)} AS b,
            (SELECT key AS ord, value ->> 'q' AS queue, value ->> 'n' AS name, value ->> 'p' AS payload,
                    value ->> 'pr' AS priority, value ->> 'ma' AS max_attempts,
                    COALESCE(value ->> 'r', ${NOW} + (value ->> 'd')) AS due_at,
                    value ->> 'k' AS unique_key, value ->> 'w' AS unique_while, value ->> 'u' AS unique_ttl_ms,
                    value ->> 'b' AS backoff, value ->> 't' AS timeout_ms, value ->> 'h' AS headers, value ->> 'g' AS job_group
             FROM json_each(?)) AS i
       WHERE true
       ORDER BY i.ord
       ON CONFLICT DO NOTHING
       RETURNING id, unique_key, queue, run_at`,
      [
        ...firstNewIdParams(t),
        JSON.stringify(
          rows.map((r) => ({
            q: r.queue, n: r.name, p: r.payload, pr: r.priority, ma: r.maxAttempts, r: msOf(r.runAt), d: r.delayMs,
            k: r.uniqueKey, w: r.uniqueWhile, u: r.uniqueTtlMs, b: r.backoff, t: r.timeoutMs, h: r.headers, g: r.group,
          })),
        ),
      ],
    );

  /**
   * Claim: due rows in claim order through the partial index, moved to running. INDEXED BY
   * pins the index (SQLite plans without statistics unless the app runs ANALYZE), and
   * makes the statement fail to prepare, loudly, if a schema change ever made it unusable.
   * Each job comes back as one JSON text (see `JOB_JSON`). `prefetched`: the claimed jobs go
   * to the worker's buffer rather than starting at once (see the claim flow below).
   */
  const claimJobs = (queue: string, workerId: string, limit: number, leaseMs: number, prefetched: boolean, group: string | null | undefined) =>
    sql(
      `UPDATE ${t.jobs}
       SET state = 'running', attempt = attempt + 1, locked_by = ?, locked_until = ${NOW} + ?, started_at = ${NOW},
           prefetched = ?, unique_active = CASE WHEN unique_while = 'queued' THEN NULL ELSE unique_active END
       WHERE id IN (
         SELECT id FROM ${t.jobs} INDEXED BY ${t.index(typeof group === 'string' ? 'group_idx' : 'claim_idx')}
         WHERE queue = ? AND state IN ${PENDING} AND run_at <= ${NOW}${group === undefined ? '' : group === null ? ' AND job_group IS NULL' : ' AND job_group IS NOT NULL AND job_group = ?'}
           AND NOT EXISTS (SELECT 1 FROM ${t.paused} WHERE queue = ?)
         ORDER BY priority, run_at, id
         LIMIT ?)
       RETURNING ${JOB_JSON}`,
      [workerId, leaseMs, prefetched ? 1 : 0, queue, ...(typeof group === 'string' ? [group] : []), queue, limit],
    );

  /**
   * The local hand-off (see `Storage.enqueueClaimed`): one job, due now, no unique key, stored
   * already claimed by the worker — running, attempt 1, leased — unless its queue is paused,
   * then stored available as `insertJobs` would. Its id as `insertJobs` gives them.
   */
  const insertClaimedJob = (r: InsertRow, workerId: string, leaseMs: number) =>
    sql(
      `INSERT INTO ${t.jobs} (id, queue, name, payload, headers, priority, max_attempts, run_at, created_at, backoff, timeout_ms,
                              state, attempt, started_at, locked_by, locked_until)
       SELECT b.base, ?, ?, ?, ?, ?, ?, ${NOW}, ${NOW}, ?, ?,
              CASE WHEN p.paused THEN 'available' ELSE 'running' END, CASE WHEN p.paused THEN 0 ELSE 1 END,
              CASE WHEN p.paused THEN NULL ELSE ${NOW} END, CASE WHEN p.paused THEN NULL ELSE ? END,
              CASE WHEN p.paused THEN NULL ELSE ${NOW} + ? END
       FROM ${firstNewId(t)} AS b, (SELECT EXISTS (SELECT 1 FROM ${t.paused} WHERE queue = ?) AS paused) AS p
       RETURNING ${JOB_COLUMNS}`,
      [r.queue, r.name, r.payload, r.headers, r.priority, r.maxAttempts, r.backoff, r.timeoutMs, workerId, leaseMs, ...firstNewIdParams(t), r.queue],
    );

  /** Guarded completion of a batch (UPDATE … FROM the JSON items). */
  const completeJobs = (items: CompleteRow[]) =>
    sql(
      `UPDATE ${t.jobs} AS j
       SET state = 'completed', completed_at = ${NOW}, result = i.result, locked_by = NULL, locked_until = NULL,
           cancel_requested = 0, prefetched = 0, unique_active = NULL
       FROM (SELECT CAST(value ->> 'id' AS INTEGER) AS id, value ->> 'w' AS worker, value ->> 'r' AS result
             FROM json_each(?)) AS i
       WHERE j.id = i.id AND j.locked_by = i.worker AND +j.state = 'running'
       RETURNING id, queue`,
      [JSON.stringify(items.map((i) => ({ id: i.id, w: i.workerId, r: i.result })))],
    );

  /** Guarded failure of a batch: retryable / dead / cancelled (SET reads the old row). */
  const failJobs = (items: FailRow[]) =>
    sql(
      `UPDATE ${t.jobs} AS j
       SET state = CASE WHEN i.cancelled THEN 'cancelled' WHEN i.delay_ms IS NULL THEN 'dead' ELSE 'retryable' END,
           run_at = CASE WHEN NOT i.cancelled AND i.delay_ms IS NOT NULL THEN ${NOW} + i.delay_ms ELSE j.run_at END,
           failed_at = CASE WHEN i.cancelled OR i.delay_ms IS NULL THEN ${NOW} ELSE j.failed_at END,
           last_error = i.error,
           unique_active = CASE WHEN i.cancelled THEN NULL
                                WHEN i.delay_ms IS NULL AND j.unique_while IS NOT 'until-complete' THEN NULL
                                ELSE j.unique_active END,
           interruptions = j.interruptions + i.interrupted,
           locked_by = NULL, locked_until = NULL, cancel_requested = 0, prefetched = 0
       FROM (SELECT CAST(value ->> 'id' AS INTEGER) AS id, value ->> 'w' AS worker, value ->> 'e' AS error,
                    value ->> 'd' AS delay_ms, value ->> 'c' AS cancelled, value ->> 'x' AS interrupted
             FROM json_each(?)) AS i
       WHERE j.id = i.id AND j.locked_by = i.worker AND +j.state = 'running'
       RETURNING id, queue, state, run_at`,
      [JSON.stringify(items.map((i) => ({ id: i.id, w: i.workerId, e: i.error, d: i.retryDelayMs, c: i.cancelled ? 1 : 0, x: i.interrupted ? 1 : 0 })))],
    );

  /**
   * Hands jobs back; one whose cancellation was requested ends cancelled (see
   * `postgres-outcomes.ts`); `interrupted` (a shutdown cut the runs short) counts one more interruption each.
   */
  const releaseJobs = (ids: string[], workerId: string, runAt: Date | null, interrupted: boolean) =>
    sql(
      `UPDATE ${t.jobs}
       SET state = CASE WHEN cancel_requested THEN 'cancelled' WHEN ? > ${NOW} THEN 'scheduled' ELSE 'available' END,
           run_at = CASE WHEN NOT cancel_requested AND ? IS NOT NULL THEN ? ELSE run_at END,
           failed_at = CASE WHEN cancel_requested THEN ${NOW} ELSE failed_at END,
           unique_active = CASE WHEN cancel_requested THEN NULL ELSE unique_active END,
           attempt = max(attempt - 1, 0), interruptions = interruptions + ?,
           locked_by = NULL, locked_until = NULL, cancel_requested = 0, prefetched = 0
       WHERE id IN (SELECT value FROM json_each(?)) AND locked_by = ? AND +state = 'running'
       RETURNING id, queue, state, run_at`,
      [msOf(runAt), msOf(runAt), msOf(runAt), interrupted ? 1 : 0, idsJson(ids), workerId],
    );

  /** Extends held leases; records the start of the prefetched ones among `started`. */
  const heartbeatJobs = (ids: string[], workerId: string, leaseMs: number, started: string[]) =>
    sql(
      `UPDATE ${t.jobs} SET locked_until = ${NOW} + ?,
         prefetched = prefetched AND id NOT IN (SELECT value FROM json_each(?))
       WHERE id IN (SELECT value FROM json_each(?)) AND locked_by = ? AND +state = 'running'
       RETURNING id, cancel_requested`,
      [leaseMs, idsJson(started), idsJson(ids), workerId],
    );

  /**
   * Expired leases, oldest first, bounded: back to available, or dead / cancelled. A job
   * still prefetched never started: its attempt back, never dead for it, marked
   * `rescued_unstarted` (see `postgres-leases.ts`).
   */
  const rescueJobs = (limit: number, message: string) => {
    const dead = `(NOT prefetched AND max_attempts IS NOT NULL AND attempt >= max_attempts)`;
    return sql(
      `UPDATE ${t.jobs}
       SET state = CASE WHEN cancel_requested THEN 'cancelled' WHEN ${dead} THEN 'dead' ELSE 'available' END,
           failed_at = CASE WHEN cancel_requested OR ${dead} THEN ${NOW} ELSE failed_at END,
           run_at = CASE WHEN cancel_requested OR ${dead} THEN run_at ELSE ${NOW} END,
           last_error = CASE WHEN NOT cancel_requested AND ${dead} THEN json_object(
               'name', 'LeaseExpired', 'message', ?, 'attempt', attempt,
               'at', strftime('%Y-%m-%dT%H:%M:%fZ', ${NOW} / 1000.0, 'unixepoch'))
             ELSE last_error END,
           unique_active = CASE WHEN cancel_requested THEN NULL
                                WHEN ${dead} AND unique_while IS NOT 'until-complete' THEN NULL
                                ELSE unique_active END,
           attempt = CASE WHEN prefetched THEN max(attempt - 1, 0) ELSE attempt END,
           rescued_unstarted = (rescued_unstarted OR prefetched),
           locked_by = NULL, locked_until = NULL, cancel_requested = 0, prefetched = 0
       WHERE id IN (SELECT id FROM ${t.jobs} INDEXED BY ${t.index('lease_idx')}
                    WHERE state = 'running' AND locked_until <= ${NOW}
                    ORDER BY locked_until LIMIT ?)
       RETURNING id, queue, state, run_at`,
      [message, limit],
    );
  };

  const isDead = (r: Row) => asString(r.state) === 'dead';
  const runAtOf = (r: Row) => asNumber(r.run_at);
  const of = (rows: Row[], pick: (r: Row) => boolean) => rows.filter(pick);
  /** Count changes of rows that left `running` for the state each has now. */
  const leftRunning = (rows: Row[]) => [
    ...deltasOf(rows, 'running', -1),
    ...deltasOf(of(rows, (r) => ['scheduled', 'available', 'retryable'].includes(asString(r.state))), 'pending', 1, runAtOf),
    ...deltasOf(of(rows, isDead), 'dead', 1),
    ...deltasOf(of(rows, isDead), 'died', 1),
  ];

  return {
    kind: 'sqlite',
    tables: t,
    maxRowsPerStatement: 5000,
    ...commonFlows(sqliteStatements(t)),
    foldCounters: sqliteFold(t),
    recount: sqliteRecount(t),
    insert: (rows) => step('tx', function* () {
      const { rows: out } = yield insertJobs(rows);
      sawIds(out.map((r) => r.id));
      if (out.length) yield applyDeltas(t, deltasOf(out, 'pending', 1, runAtOf));
      return out.map((r) => ({ id: asString(r.id), uniqueKey: r.unique_key == null ? null : asString(r.unique_key) }));
    }),
    // The first `startNow` jobs in claim order start at once, the next ones are prefetched: two
    // claims in one transaction (the second only when both kinds are asked for and the first
    // came back full). A worker asks for both only when it has free slots and nothing
    // buffered; its usual refill is all prefetched, one statement.
    claim: (queue, workerId, limit, leaseMs, startNow, group) => step('tx', function* () {
      const rows: Row[] = [];
      if (startNow > 0) rows.push(...(yield claimJobs(queue, workerId, startNow, leaseMs, false, group)).rows);
      if (limit > startNow && rows.length === startNow) rows.push(...(yield claimJobs(queue, workerId, limit - startNow, leaseMs, true, group)).rows);
      const n = rows.length;
      if (n) yield applyDeltas(t, [{ queue, event: 'pending', n: -n }, { queue, event: 'running', n }]);
      return rowsOfJobsJson(`[${rows.map((r) => r.job as string).join(',')}]`);
    }),
    insertClaimed: (row, workerId, leaseMs) => step('tx', function* () {
      const { rows } = yield insertClaimedJob(row, workerId, leaseMs);
      const stored = rows[0]!;
      sawIds([stored.id]);
      yield applyDeltas(t, [{ queue: row.queue, event: asString(stored.state) === 'running' ? 'running' : 'pending', n: 1 }]);
      return stored;
    }),
    complete: (items) => step('tx', function* () {
      const { rows } = yield completeJobs(items);
      if (rows.length) yield applyDeltas(t, [...deltasOf(rows, 'running', -1), ...deltasOf(rows, 'completed', 1)]);
      return rows.map((r) => asString(r.id));
    }),
    fail: (items) => step('tx', function* () {
      const { rows } = yield failJobs(items);
      if (rows.length) yield applyDeltas(t, leftRunning(rows));
      return rows.map((r) => asString(r.id));
    }),
    release: (ids, workerId, runAt, interrupted) => step('tx', function* () {
      const { rows } = yield releaseJobs(ids, workerId, runAt, interrupted);
      if (rows.length) yield applyDeltas(t, leftRunning(rows));
      return { held: rows.map((r) => asString(r.id)), cancelled: rows.filter((r) => r.state === 'cancelled').map((r) => asString(r.id)) };
    }),
    heartbeat: (ids, workerId, leaseMs, started) => step('write', function* () {
      const { rows } = yield heartbeatJobs(ids, workerId, leaseMs, started);
      return { held: rows.map((r) => asString(r.id)), cancelled: rows.filter((r) => asBool(r.cancel_requested)).map((r) => asString(r.id)) };
    }),
    rescue: (limit, message) => step('tx', function* () {
      const { rows } = yield rescueJobs(limit, message);
      if (rows.length) yield applyDeltas(t, leftRunning(rows));
      return rows.length;
    }),
  };
}
