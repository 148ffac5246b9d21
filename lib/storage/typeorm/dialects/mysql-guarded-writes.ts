import type { CompleteRow, Dialect, FailRow } from '../dialect.js';
import { sql, step, type Flow, type Row } from '../flow.js';
import { asBool, asString } from '../job-row.js';
import type { TableNames } from '../table-names.js';
import { deltasOf, firstPerId } from './batch-helpers.js';
import { applyDeltas, marks, NOW, plusMs, utc, type SqlDelta } from './mysql.statements.js';

/** MariaDB's guarded writes after a claim (complete, fail, release, heartbeat): lock the rows still held, then update exactly those. */
export function mysqlGuardedWrites(t: TableNames): Pick<Dialect, 'complete' | 'fail' | 'release' | 'heartbeat'> {
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
           j.cancel_requested = 0, j.prefetched = 0, j.unique_active = NULL, j.state = 'completed'
       WHERE j.state = 'running'`,
      [JSON.stringify(items.map((i) => (i.result === null ? { id: i.id } : { id: i.id, r: i.result })))],
    );

  /**
   * A multi-table UPDATE gives no assignment order, so no expression here reads a column
   * another assignment changes.
   */
  const failHeld = (items: FailRow[]) =>
    sql(
      `UPDATE ${byIds(`id BIGINT UNSIGNED PATH '$.id', error LONGTEXT PATH '$.e', delay_ms BIGINT PATH '$.d', cancelled TINYINT PATH '$.c',
                       interrupted TINYINT PATH '$.x'`)}
       SET j.state = CASE WHEN i.cancelled = 1 THEN 'cancelled' WHEN i.delay_ms IS NULL THEN 'dead' ELSE 'retryable' END,
           j.run_at = CASE WHEN i.cancelled = 0 AND i.delay_ms IS NOT NULL THEN ${plusMs(NOW, 'i.delay_ms')} ELSE j.run_at END,
           j.failed_at = CASE WHEN i.cancelled = 1 OR i.delay_ms IS NULL THEN ${NOW} ELSE j.failed_at END,
           j.last_error = i.error,
           j.unique_active = CASE WHEN i.cancelled = 1 THEN NULL
                                  WHEN i.delay_ms IS NULL AND NOT (j.unique_while <=> 'until-complete') THEN NULL
                                  ELSE j.unique_active END,
           j.interruptions = j.interruptions + i.interrupted,
           j.locked_by = NULL, j.locked_until = NULL, j.cancel_requested = 0, j.prefetched = 0
       WHERE j.state = 'running'`,
      [JSON.stringify(items.map((i) => ({ id: i.id, e: i.error, c: i.cancelled ? 1 : 0, x: i.interrupted ? 1 : 0, ...(i.retryDelayMs === null ? {} : { d: i.retryDelayMs }) })))],
    );

  /**
   * Hands jobs back; one whose cancellation was requested ends cancelled (see
   * `postgres-outcomes.ts`). Assignments run left to right: `state`, then `cancel_requested`,
   * come last. `interrupted` (a shutdown cut the runs short) counts one more interruption each.
   */
  const releaseHeld = (ids: string[], runAt: Date | null, interrupted: boolean) =>
    sql(
      `UPDATE ${t.jobs}
       SET run_at = CASE WHEN cancel_requested = 0 AND ? IS NOT NULL THEN ? ELSE run_at END,
           failed_at = CASE WHEN cancel_requested = 1 THEN ${NOW} ELSE failed_at END,
           unique_active = CASE WHEN cancel_requested = 1 THEN NULL ELSE unique_active END,
           attempt = GREATEST(attempt - 1, 0), interruptions = interruptions + ?, locked_by = NULL, locked_until = NULL, prefetched = 0,
           state = CASE WHEN cancel_requested = 1 THEN 'cancelled' WHEN ? > ${NOW} THEN 'scheduled' ELSE 'available' END,
           cancel_requested = 0
       WHERE id IN (${marks(ids.length)})`,
      [utc(runAt), utc(runAt), interrupted ? 1 : 0, utc(runAt), ...ids],
    );

  /** Extends the leases of the held rows; records the start of those in `started` (no longer prefetched). */
  const extendLeases = (ids: string[], leaseMs: number, started: string[]) =>
    started.length
      ? sql(
        `UPDATE ${t.jobs} SET locked_until = ${plusMs(NOW, '?')}, prefetched = CASE WHEN id IN (${marks(started.length)}) THEN 0 ELSE prefetched END
         WHERE id IN (${marks(ids.length)})`,
        [leaseMs, ...started, ...ids],
      )
      : sql(`UPDATE ${t.jobs} SET locked_until = ${plusMs(NOW, '?')} WHERE id IN (${marks(ids.length)})`, [leaseMs, ...ids]);

  /** Of the rows locked by `lockRunning`, those `workerOf(id)` still holds. */
  function* lockHeld(ids: string[], workerOf: (id: string) => string | undefined, columns: string): Flow<Row[]> {
    if (!ids.length) return [];
    const { rows } = yield lockRunning([...new Set(ids)], `id, locked_by, ${columns}`);
    return rows.filter((r) => asString(r.locked_by) === workerOf(asString(r.id)));
  }

  /** A batch of per-job items (the first per id): the rows their workers still hold, locked, and their ids. */
  function* lockHeldItems<I extends { id: string; workerId: string }>(items: I[]): Flow<{ held: Row[]; ids: string[]; byId: Map<string, I> }> {
    const byId = new Map(firstPerId(items).map((i) => [i.id, i]));
    const held = yield* lockHeld([...byId.keys()], (id) => byId.get(id)?.workerId, 'queue');
    return { held, ids: held.map((r) => asString(r.id)), byId };
  }

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
    complete: (items) => step('tx', function* () {
      const { held, ids, byId } = yield* lockHeldItems(items);
      if (!held.length) return [];
      yield completeHeld(ids.map((id) => byId.get(id)!));
      yield applyDeltas(t, [...deltasOf(held, 'running', -1), ...deltasOf(held, 'completed', 1)]);
      return ids;
    }),
    fail: (items) => step('tx', function* () {
      const { held, ids, byId } = yield* lockHeldItems(items);
      if (!held.length) return [];
      yield failHeld(ids.map((id) => byId.get(id)!));
      yield applyDeltas(t, failDeltas(held, byId));
      return ids;
    }),
    release: (ids, workerId, runAt, interrupted) => step('tx', function* () {
      const held = yield* lockHeld(ids, () => workerId, 'queue, cancel_requested');
      if (!held.length) return { held: [], cancelled: [] };
      const heldIds = held.map((r) => asString(r.id));
      yield releaseHeld(heldIds, runAt, interrupted);
      const back = held.filter((r) => !asBool(r.cancel_requested));
      yield applyDeltas(t, [...deltasOf(held, 'running', -1), ...deltasOf(back, 'pending', 1, runAt ? () => runAt.getTime() : undefined)]);
      return { held: heldIds, cancelled: held.filter((r) => asBool(r.cancel_requested)).map((r) => asString(r.id)) };
    }),
    heartbeat: (ids, workerId, leaseMs, started) => step('tx', function* () {
      const held = yield* lockHeld(ids, () => workerId, 'cancel_requested, prefetched');
      if (!held.length) return { held: [], cancelled: [] };
      const heldIds = held.map((r) => asString(r.id));
      const wanted = new Set(started);
      yield extendLeases(heldIds, leaseMs, held.filter((r) => asBool(r.prefetched) && wanted.has(asString(r.id))).map((r) => asString(r.id)));
      return { held: heldIds, cancelled: held.filter((r) => asBool(r.cancel_requested)).map((r) => asString(r.id)) };
    }),
  };
}
