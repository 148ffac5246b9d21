import type { CompleteRow, Dialect, FailRow, InsertRow } from '../dialect.js';
import { sql, step, type Flow, type Row } from '../flow.js';
import { asBool, asDate, asNumber, asString } from '../job-row.js';
import type { TableNames } from '../table-names.js';
import { deltasOf, firstPerId } from './batch-helpers.js';
import { commonFlows } from './common-flows.js';
import { mysqlFold } from './fold-statements.js';
import { applyDeltas, JOB_COLUMNS, marks, mysqlStatements, NOW, plusMs, utc, type SqlDelta } from './mysql.statements.js';

/**
 * MariaDB has no UPDATE … RETURNING: every guarded write is a short transaction that first
 * locks the rows it may change (`SELECT … FOR UPDATE`: the ids that are still held), then
 * updates exactly those. Batches of per-row values travel as one JSON parameter through
 * JSON_TABLE (MariaDB 10.6+, MySQL 8).
 */
export function mysqlDialect(t: TableNames): Dialect {
  /**
   * Enqueue: one multi-row INSERT. `run_at` is computed first so `state` can read it (a
   * VALUES list may refer to columns set earlier in the same row). IGNORE skips rows whose
   * unique key is held (the unique index on `unique_active`); the storage validates
   * lengths first, so no other error can be downgraded to a warning. RETURNING (MariaDB
   * 10.5+) gives the stored rows.
   */
  const insertJobs = (rows: InsertRow[]) => {
    const tuple = `(?, ?, ?, ?, ?, COALESCE(?, ${plusMs(NOW, '?')}),
      CASE WHEN run_at > ${NOW} THEN 'scheduled' ELSE 'available' END, ${NOW}, ?, ?, ?, ?, ?)`;
    return sql(
      `INSERT IGNORE INTO ${t.jobs} (queue, name, payload, priority, max_attempts, run_at, state, created_at,
                                     unique_key, unique_while, unique_active, backoff, timeout_ms)
       VALUES ${rows.map(() => tuple).join(', ')}
       RETURNING id, unique_key, queue, CAST(run_at AS CHAR) AS run_at`,
      rows.flatMap((r) => [
        r.queue, r.name, r.payload, r.priority, r.maxAttempts, utc(r.runAt), r.delayMs,
        r.uniqueKey, r.uniqueWhile, r.uniqueKey, r.backoff, r.timeoutMs,
      ]),
    );
  };

  /**
   * The local hand-off (see `Storage.enqueueClaimed`): one job, due now, no unique key, stored
   * already claimed by the worker — running, attempt 1, leased — unless its queue is paused,
   * then stored available as `insertJobs` would. Later columns of the VALUES row read `state`.
   */
  const insertClaimedJob = (r: InsertRow, workerId: string, leaseMs: number) =>
    sql(
      `INSERT INTO ${t.jobs} (queue, name, payload, priority, max_attempts, run_at, created_at, backoff, timeout_ms,
                              state, attempt, started_at, locked_by, locked_until)
       VALUES (?, ?, ?, ?, ?, ${NOW}, ${NOW}, ?, ?,
               CASE WHEN EXISTS (SELECT 1 FROM ${t.paused} p WHERE p.queue = ?) THEN 'available' ELSE 'running' END,
               CASE WHEN state = 'running' THEN 1 ELSE 0 END, CASE WHEN state = 'running' THEN ${NOW} END,
               CASE WHEN state = 'running' THEN ? END, CASE WHEN state = 'running' THEN ${plusMs(NOW, '?')} END)
       RETURNING ${JOB_COLUMNS}`,
      [r.queue, r.name, r.payload, r.priority, r.maxAttempts, r.backoff, r.timeoutMs, r.queue, workerId, leaseMs],
    );

  /**
   * Claim, step 1 (READ COMMITTED, so no gap locks block concurrent enqueues): due rows in
   * claim order, locked, skipping rows other claimers hold. The index is on the generated
   * column `pending_queue` (the queue while the job is pending, else NULL) then priority,
   * run_at, id: MariaDB has no partial indexes, and an index matching the ORDER BY is what
   * keeps the scan (and the rows it locks) short. FORCE INDEX because the optimizer may
   * otherwise sort a primary-key scan. The ORDER BY names `j.run_at`: a bare `run_at` would
   * mean the select list's text copy of it, and sort (filesort) instead of reading in order.
   */
  const pickDue = (queue: string, limit: number) =>
    sql(
      `SELECT ${JOB_COLUMNS}, CAST(${NOW} AS CHAR) AS db_now
       FROM ${t.jobs} j FORCE INDEX (${t.index('claim_idx')})
       WHERE j.pending_queue = ? AND j.run_at <= ${NOW}
         AND NOT EXISTS (SELECT 1 FROM ${t.paused} p WHERE p.queue = ?)
       ORDER BY j.priority, j.run_at, j.id
       LIMIT ?
       FOR UPDATE SKIP LOCKED`,
      [queue, queue, limit],
    );

  /** Claim, step 2: the picked rows to running, with the times step 1 read from the database. */
  const markRunning = (ids: string[], workerId: string, startedAt: string, lockedUntil: string) =>
    sql(
      `UPDATE ${t.jobs}
       SET attempt = attempt + 1, locked_by = ?, locked_until = ?, started_at = ?,
           unique_active = CASE WHEN unique_while = 'queued' THEN NULL ELSE unique_active END,
           state = 'running'
       WHERE id IN (${marks(ids.length)})`,
      [workerId, lockedUntil, startedAt, ...ids],
    );

  /**
   * Step 1 of every guarded write: lock the running rows among `ids`; the caller keeps those
   * its worker holds. A locking read locks every row it scans: FORCE INDEX (PRIMARY) keeps it
   * on exactly these ids (through the (state, …) index it would lock every running job, and
   * two workers' batches would deadlock on each other's rows).
   */
  const lockRunning = (ids: string[], columns: string) =>
    sql(`SELECT ${columns} FROM ${t.jobs} FORCE INDEX (PRIMARY) WHERE id IN (${marks(ids.length)}) AND state = 'running' FOR UPDATE`, ids);

  /**
   * Per-row values from JSON_TABLE. STRAIGHT_JOIN from the JSON rows into the jobs by primary
   * key: left to itself the optimizer may scan the jobs table first (it does on small
   * tables), and an UPDATE locks every row it scans.
   */
  const byIds = (columns: string) =>
    `JSON_TABLE(?, '$[*]' COLUMNS (${columns})) i STRAIGHT_JOIN ${t.jobs} j FORCE INDEX (PRIMARY) ON j.id = i.id`;

  const completeHeld = (items: CompleteRow[]) =>
    sql(
      `UPDATE ${byIds(`id BIGINT UNSIGNED PATH '$.id', result LONGTEXT PATH '$.r'`)}
       SET j.completed_at = ${NOW}, j.result = i.result, j.locked_by = NULL, j.locked_until = NULL,
           j.cancel_requested = 0, j.unique_active = NULL, j.state = 'completed'
       WHERE j.state = 'running'`,
      [JSON.stringify(items.map((i) => (i.result === null ? { id: i.id } : { id: i.id, r: i.result })))],
    );

  /**
   * A multi-table UPDATE gives no assignment order, so no expression here reads a column
   * another assignment changes.
   */
  const failHeld = (items: FailRow[]) =>
    sql(
      `UPDATE ${byIds(`id BIGINT UNSIGNED PATH '$.id', error LONGTEXT PATH '$.e', delay_ms BIGINT PATH '$.d', cancelled TINYINT PATH '$.c'`)}
       SET j.state = CASE WHEN i.cancelled = 1 THEN 'cancelled' WHEN i.delay_ms IS NULL THEN 'dead' ELSE 'retryable' END,
           j.run_at = CASE WHEN i.cancelled = 0 AND i.delay_ms IS NOT NULL THEN ${plusMs(NOW, 'i.delay_ms')} ELSE j.run_at END,
           j.failed_at = CASE WHEN i.cancelled = 1 OR i.delay_ms IS NULL THEN ${NOW} ELSE j.failed_at END,
           j.last_error = i.error,
           j.unique_active = CASE WHEN i.cancelled = 1 THEN NULL
                                  WHEN i.delay_ms IS NULL AND NOT (j.unique_while <=> 'until-complete') THEN NULL
                                  ELSE j.unique_active END,
           j.locked_by = NULL, j.locked_until = NULL, j.cancel_requested = 0
       WHERE j.state = 'running'`,
      [JSON.stringify(items.map((i) => ({ id: i.id, e: i.error, c: i.cancelled ? 1 : 0, ...(i.retryDelayMs === null ? {} : { d: i.retryDelayMs }) })))],
    );

  /**
   * Hands jobs back; one whose cancellation was requested ends cancelled (see the PostgreSQL
   * dialect). Assignments run left to right: `state`, then `cancel_requested`, come last.
   */
  const releaseHeld = (ids: string[], runAt: Date | null) =>
    sql(
      `UPDATE ${t.jobs}
       SET run_at = CASE WHEN cancel_requested = 0 AND ? IS NOT NULL THEN ? ELSE run_at END,
           failed_at = CASE WHEN cancel_requested = 1 THEN ${NOW} ELSE failed_at END,
           unique_active = CASE WHEN cancel_requested = 1 THEN NULL ELSE unique_active END,
           attempt = GREATEST(attempt - 1, 0), locked_by = NULL, locked_until = NULL,
           state = CASE WHEN cancel_requested = 1 THEN 'cancelled' WHEN ? > ${NOW} THEN 'scheduled' ELSE 'available' END,
           cancel_requested = 0
       WHERE id IN (${marks(ids.length)})`,
      [utc(runAt), utc(runAt), utc(runAt), ...ids],
    );

  const extendLeases = (ids: string[], leaseMs: number) =>
    sql(`UPDATE ${t.jobs} SET locked_until = ${plusMs(NOW, '?')} WHERE id IN (${marks(ids.length)})`, [leaseMs, ...ids]);

  /** Rescue, step 1 (READ COMMITTED): expired leases, oldest first, through (state, locked_until). */
  const pickExpired = (limit: number) =>
    sql(
      `SELECT id, queue, attempt, max_attempts, cancel_requested FROM ${t.jobs}
       WHERE state = 'running' AND locked_until <= ${NOW}
       ORDER BY locked_until LIMIT ? FOR UPDATE SKIP LOCKED`,
      [limit],
    );

  /** Rescue, step 2. Assignments in order: `state`, then `cancel_requested`, come last. */
  const rescueHeld = (ids: string[], message: string) => {
    const dead = `(max_attempts IS NOT NULL AND attempt >= max_attempts)`;
    return sql(
      `UPDATE ${t.jobs}
       SET last_error = CASE WHEN cancel_requested = 0 AND ${dead} THEN JSON_OBJECT(
               'name', 'LeaseExpired', 'message', ?, 'attempt', attempt,
               'at', CONCAT(LEFT(DATE_FORMAT(${NOW}, '%Y-%m-%dT%H:%i:%s.%f'), 23), 'Z'))
             ELSE last_error END,
           failed_at = CASE WHEN cancel_requested = 1 OR ${dead} THEN ${NOW} ELSE failed_at END,
           run_at = CASE WHEN cancel_requested = 1 OR ${dead} THEN run_at ELSE ${NOW} END,
           unique_active = CASE WHEN cancel_requested = 1 THEN NULL
                                WHEN ${dead} AND NOT (unique_while <=> 'until-complete') THEN NULL
                                ELSE unique_active END,
           locked_by = NULL, locked_until = NULL,
           state = CASE WHEN cancel_requested = 1 THEN 'cancelled' WHEN ${dead} THEN 'dead' ELSE 'available' END,
           cancel_requested = 0
       WHERE id IN (${marks(ids.length)})`,
      [message, ...ids],
    );
  };

  /** Of the rows locked by `lockRunning`, those `workerOf(id)` still holds. */
  function* lockHeld(ids: string[], workerOf: (id: string) => string | undefined, columns: string): Flow<Row[]> {
    if (!ids.length) return [];
    const { rows } = yield lockRunning([...new Set(ids)], `id, locked_by, ${columns}`);
    return rows.filter((r) => asString(r.locked_by) === workerOf(asString(r.id)));
  }

  const runAtOf = (r: Row) => asDate(r.run_at).getTime();
  /** Count changes of failed jobs: out of running, into retryable (pending at now + delay), dead, or cancelled. */
  const failDeltas = (held: Row[], byId: Map<string, FailRow>): SqlDelta[] => {
    const out: SqlDelta[] = deltasOf(held, 'running', -1);
    const dead = held.filter((r) => {
      const i = byId.get(asString(r.id))!;
      return !i.cancelled && i.retryDelayMs === null;
    });
    out.push(...deltasOf(dead, 'dead', 1), ...deltasOf(dead, 'died', 1));
    const retries = new Map<string, SqlDelta>();
    for (const r of held) {
      const i = byId.get(asString(r.id))!;
      if (i.cancelled || i.retryDelayMs === null) continue;
      const key = `${asString(r.queue)}\u0000${i.retryDelayMs}`;
      const d = retries.get(key);
      if (d) d.n++;
      else retries.set(key, { queue: asString(r.queue), event: 'pending', n: 1, runAtSql: { text: plusMs(NOW, '?'), params: [i.retryDelayMs] } });
    }
    return [...out, ...retries.values()];
  };

  return {
    kind: 'mysql',
    tables: t,
    maxRowsPerStatement: 1000,
    ...commonFlows(mysqlStatements(t)),
    foldCounters: mysqlFold(t),
    insert: (rows) => step('tx', function* () {
      const { rows: out } = yield insertJobs(rows);
      if (out.length) yield applyDeltas(t, deltasOf(out, 'pending', 1, runAtOf));
      return out.map((r) => ({ id: asString(r.id), uniqueKey: r.unique_key == null ? null : asString(r.unique_key) }));
    }),
    insertClaimed: (row, workerId, leaseMs) => step('tx', function* () {
      const { rows } = yield insertClaimedJob(row, workerId, leaseMs);
      const stored = rows[0]!;
      yield applyDeltas(t, asString(stored.state) === 'running' ? deltasOf(rows, 'running', 1) : deltasOf(rows, 'pending', 1));
      return stored;
    }),
    claim: (queue, workerId, limit, leaseMs) => step('tx-read-committed', function* () {
      const { rows } = yield pickDue(queue, limit);
      if (!rows.length) return [];
      const now = asString(rows[0]!.db_now);
      const until = utc(new Date(asDate(now).getTime() + leaseMs))!;
      yield markRunning(rows.map((r) => asString(r.id)), workerId, now, until);
      yield applyDeltas(t, [...deltasOf(rows, 'pending', -1), ...deltasOf(rows, 'running', 1)]);
      return rows.map((r) => ({ ...r, state: 'running', attempt: asNumber(r.attempt) + 1, locked_by: workerId, locked_until: until, started_at: now }));
    }),
    complete: (items) => step('tx', function* () {
      const byId = new Map(firstPerId(items).map((i) => [i.id, i]));
      const held = yield* lockHeld([...byId.keys()], (id) => byId.get(id)?.workerId, 'queue');
      if (!held.length) return [];
      const ids = held.map((r) => asString(r.id));
      yield completeHeld(ids.map((id) => byId.get(id)!));
      yield applyDeltas(t, [...deltasOf(held, 'running', -1), ...deltasOf(held, 'completed', 1)]);
      return ids;
    }),
    fail: (items) => step('tx', function* () {
      const byId = new Map(firstPerId(items).map((i) => [i.id, i]));
      const held = yield* lockHeld([...byId.keys()], (id) => byId.get(id)?.workerId, 'queue');
      if (!held.length) return [];
      const ids = held.map((r) => asString(r.id));
      yield failHeld(ids.map((id) => byId.get(id)!));
      yield applyDeltas(t, failDeltas(held, byId));
      return ids;
    }),
    release: (ids, workerId, runAt) => step('tx', function* () {
      const held = yield* lockHeld(ids, () => workerId, 'queue, cancel_requested');
      if (!held.length) return [];
      const heldIds = held.map((r) => asString(r.id));
      yield releaseHeld(heldIds, runAt);
      const back = held.filter((r) => !asBool(r.cancel_requested));
      yield applyDeltas(t, [...deltasOf(held, 'running', -1), ...deltasOf(back, 'pending', 1, runAt ? () => runAt.getTime() : undefined)]);
      return heldIds;
    }),
    heartbeat: (ids, workerId, leaseMs) => step('tx', function* () {
      const held = yield* lockHeld(ids, () => workerId, 'cancel_requested');
      if (!held.length) return { held: [], cancelled: [] };
      const heldIds = held.map((r) => asString(r.id));
      yield extendLeases(heldIds, leaseMs);
      return { held: heldIds, cancelled: held.filter((r) => asBool(r.cancel_requested)).map((r) => asString(r.id)) };
    }),
    rescue: (limit, message) => step('tx-read-committed', function* () {
      const { rows } = yield pickExpired(limit);
      if (!rows.length) return 0;
      yield rescueHeld(rows.map((r) => asString(r.id)), message);
      const cancelled = (r: Row) => asBool(r.cancel_requested);
      const dead = rows.filter((r) => !cancelled(r) && r.max_attempts != null && asNumber(r.attempt) >= asNumber(r.max_attempts));
      const back = rows.filter((r) => !cancelled(r) && !dead.includes(r));
      yield applyDeltas(t, [...deltasOf(rows, 'running', -1), ...deltasOf(back, 'pending', 1), ...deltasOf(dead, 'dead', 1), ...deltasOf(dead, 'died', 1)]);
      return rows.length;
    }),
  };
}
