import type { Dialect, InsertRow } from '../dialect.js';
import { sql, step, type Row } from '../flow.js';
import { asBool, asDate, asNumber, asString } from '../job-row.js';
import type { TableNames } from '../table-names.js';
import { deltasOf } from './batch-helpers.js';
import { commonFlows } from './common-flows.js';
import { mysqlFold } from './fold-statements.js';
import { mysqlRecount } from './recount-statements.js';
import { mysqlGuardedWrites } from './mysql-guarded-writes.js';
import { mysqlNoReturning } from './mysql-no-returning.js';
import type { MysqlPath } from './mysql-path.js';
import { applyDeltas, INSERTED_COLUMNS, JOB_COLUMNS, marks, mysqlStatements, NOW, plusMs, utc } from './mysql.statements.js';

/**
 * MariaDB and MySQL 8 (see `mysql-path.ts` for which path a server takes). Neither has
 * UPDATE … RETURNING: every guarded write is a short transaction that first
 * locks the rows it may change (`SELECT … FOR UPDATE`: the ids that are still held), then
 * updates exactly those. Batches of per-row values travel as one JSON parameter through
 * JSON_TABLE (MariaDB 10.6+, MySQL 8.0.4+).
 * Here: enqueue, the hand-off, claim and rescue (the `no-returning` path's enqueue, hand-off
 * and prune flows are in `mysql-no-returning.ts`); the guarded writes (complete, fail, release,
 * heartbeat) in `mysql-guarded-writes.ts`; the rest in `mysql.statements.ts` (see the table in
 * `dialect.ts`).
 */
export function mysqlDialect(t: TableNames, path: MysqlPath = 'returning'): Dialect {
  /**
   * Enqueue: one multi-row INSERT. `run_at` is computed first so `state` can read it (a
   * VALUES list may refer to columns set earlier in the same row, on MariaDB and MySQL alike).
   * IGNORE skips rows whose unique key is held (the unique index on `unique_active`); the
   * storage validates lengths first, so no other error can be downgraded to a warning.
   * `returning` path: RETURNING (MariaDB 10.5+) gives the stored rows; the other path reads
   * them back (see `mysql-no-returning.ts`). A unique window's end (`unique_until`) is stamped
   * from the database's clock like `created_at` (NULL without a window: NULL + an interval is NULL).
   */
  const insertJobs = (rows: InsertRow[]) => {
    const tuple = `(?, ?, ?, ?, ?, COALESCE(?, ${plusMs(NOW, '?')}),
      CASE WHEN run_at > ${NOW} THEN 'scheduled' ELSE 'available' END, ${NOW}, ?, ?, ?, ${plusMs(NOW, '?')}, ?, ?, ?, ?)`;
    return sql(
      `INSERT IGNORE INTO ${t.jobs} (queue, name, payload, priority, max_attempts, run_at, state, created_at,
                                     unique_key, unique_while, unique_active, unique_until, backoff, timeout_ms, headers, job_group)
       VALUES ${rows.map(() => tuple).join(', ')}${path === 'returning' ? `
       RETURNING ${INSERTED_COLUMNS}` : ''}`,
      rows.flatMap((r) => [
        r.queue, r.name, r.payload, r.priority, r.maxAttempts, utc(r.runAt), r.delayMs,
        r.uniqueKey, r.uniqueWhile, r.uniqueKey, r.uniqueTtlMs, r.backoff, r.timeoutMs, r.headers, r.group,
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
      `INSERT INTO ${t.jobs} (queue, name, payload, headers, priority, max_attempts, run_at, created_at, backoff, timeout_ms,
                              state, attempt, started_at, locked_by, locked_until)
       VALUES (?, ?, ?, ?, ?, ?, ${NOW}, ${NOW}, ?, ?,
               CASE WHEN EXISTS (SELECT 1 FROM ${t.paused} p WHERE p.queue = ?) THEN 'available' ELSE 'running' END,
               CASE WHEN state = 'running' THEN 1 ELSE 0 END, CASE WHEN state = 'running' THEN ${NOW} END,
               CASE WHEN state = 'running' THEN ? END, CASE WHEN state = 'running' THEN ${plusMs(NOW, '?')} END)${path === 'returning' ? `
       RETURNING ${JOB_COLUMNS}` : ''}`,
      [r.queue, r.name, r.payload, r.headers, r.priority, r.maxAttempts, r.backoff, r.timeoutMs, r.queue, workerId, leaseMs],
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
  const pickDue = (queue: string, limit: number, group: string | null | undefined) =>
    sql(
      `SELECT ${JOB_COLUMNS}, CAST(${NOW} AS CHAR) AS db_now
       FROM ${t.jobs} j FORCE INDEX (${t.index(typeof group === 'string' ? 'group_idx' : 'claim_idx')})
       WHERE ${typeof group === 'string' ? 'j.pending_group_queue' : 'j.pending_queue'} = ? AND j.run_at <= ${NOW}${group === undefined ? '' : group === null ? ' AND j.job_group IS NULL' : ' AND j.job_group = ?'}
         AND NOT EXISTS (SELECT 1 FROM ${t.paused} p WHERE p.queue = ?)
       ORDER BY j.priority, j.run_at, j.id
       LIMIT ?
       FOR UPDATE SKIP LOCKED`,
      typeof group === 'string' ? [queue, group, queue, limit] : [queue, queue, limit],
    );

  /**
   * Claim, step 2: the picked rows to running, with the times step 1 read from the database.
   * The first `startNow` ids (claim order, as step 1 returned them) start at once; the rest
   * are prefetched (their start is recorded by a later heartbeat).
   */
  const markRunning = (ids: string[], workerId: string, startedAt: string, lockedUntil: string, startNow: number) => {
    const first = ids.slice(0, startNow);
    const prefetched = first.length === ids.length ? '0' : first.length ? `CASE WHEN id IN (${marks(first.length)}) THEN 0 ELSE 1 END` : '1';
    return sql(
      `UPDATE ${t.jobs}
       SET attempt = attempt + 1, locked_by = ?, locked_until = ?, started_at = ?, prefetched = ${prefetched},
           unique_active = CASE WHEN unique_while = 'queued' THEN NULL ELSE unique_active END,
           state = 'running'
       WHERE id IN (${marks(ids.length)})`,
      [workerId, lockedUntil, startedAt, ...(first.length < ids.length ? first : []), ...ids],
    );
  };

  /** Rescue, step 1 (READ COMMITTED): expired leases, oldest first, through (state, locked_until). */
  const pickExpired = (limit: number) =>
    sql(
      `SELECT id, queue, attempt, max_attempts, cancel_requested, prefetched FROM ${t.jobs}
       WHERE state = 'running' AND locked_until <= ${NOW}
       ORDER BY locked_until LIMIT ? FOR UPDATE SKIP LOCKED`,
      [limit],
    );

  /**
   * Rescue, step 2. Assignments in order: `state`, then `cancel_requested`, `attempt` and the
   * prefetch marks, come last (the others read them). A job still prefetched never started:
   * its attempt back, never dead for it, marked `rescued_unstarted` (see `postgres-leases.ts`).
   */
  const rescueHeld = (ids: string[], message: string) => {
    const dead = `(prefetched = 0 AND max_attempts IS NOT NULL AND attempt >= max_attempts)`;
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
           cancel_requested = 0,
           attempt = CASE WHEN prefetched = 1 THEN GREATEST(attempt - 1, 0) ELSE attempt END,
           rescued_unstarted = rescued_unstarted OR prefetched,
           prefetched = 0
       WHERE id IN (${marks(ids.length)})`,
      [message, ...ids],
    );
  };

  const runAtOf = (r: Row) => asDate(r.run_at).getTime();

  const flows: Dialect = {
    kind: 'mysql',
    tables: t,
    maxRowsPerStatement: 1000,
    ...commonFlows(mysqlStatements(t)),
    foldCounters: mysqlFold(t),
    recount: mysqlRecount(t),
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
    claim: (queue, workerId, limit, leaseMs, startNow, group) => step('tx-read-committed', function* () {
      const { rows } = yield pickDue(queue, limit, group);
      if (!rows.length) return [];
      const now = asString(rows[0]!.db_now);
      const until = utc(new Date(asDate(now).getTime() + leaseMs))!;
      yield markRunning(rows.map((r) => asString(r.id)), workerId, now, until, startNow);
      yield applyDeltas(t, [...deltasOf(rows, 'pending', -1), ...deltasOf(rows, 'running', 1)]);
      return rows.map((r, i) => ({
        ...r, state: 'running', attempt: asNumber(r.attempt) + 1, locked_by: workerId, locked_until: until, started_at: now, prefetched: i >= startNow,
      }));
    }),
    ...mysqlGuardedWrites(t),
    rescue: (limit, message) => step('tx-read-committed', function* () {
      const { rows } = yield pickExpired(limit);
      if (!rows.length) return 0;
      yield rescueHeld(rows.map((r) => asString(r.id)), message);
      const cancelled = (r: Row) => asBool(r.cancel_requested);
      const dead = rows.filter((r) => !cancelled(r) && !asBool(r.prefetched) && r.max_attempts != null && asNumber(r.attempt) >= asNumber(r.max_attempts));
      const back = rows.filter((r) => !cancelled(r) && !dead.includes(r));
      yield applyDeltas(t, [...deltasOf(rows, 'running', -1), ...deltasOf(back, 'pending', 1), ...deltasOf(dead, 'dead', 1), ...deltasOf(dead, 'died', 1)]);
      return rows.length;
    }),
  };
  return path === 'returning' ? flows : { ...flows, ...mysqlNoReturning(t, insertJobs, insertClaimedJob) };
}
