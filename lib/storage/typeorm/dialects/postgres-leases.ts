import type { Dialect } from '../dialect.js';
import { sql, step } from '../flow.js';
import { asBool, asString } from '../job-row.js';
import type { TableNames } from '../table-names.js';
import { ASYNC_COMMIT, CLOCK, deltaPart, insertDeltas, MINUTE_NOW, ms, notifyQueues, NOW } from './postgres.statements.js';

/** PostgreSQL leases: extending held ones (`heartbeat`) and taking expired ones back (`rescue`). */
export function postgresLeases(t: TableNames): Pick<Dialect, 'heartbeat' | 'rescue'> {
  /**
   * Extends held leases (commits without waiting for the disk, see `ASYNC_COMMIT`); says which
   * have a cancel request. Records the start of the prefetched jobs among `$4` (the array is
   * searched only for rows still prefetched). A database crash that undoes the renewal undoes
   * that record with it: the job then counts as unstarted, as had its worker died before the beat.
   */
  const heartbeatJobs = (ids: string[], workerId: string, leaseMs: number, started: string[]) =>
    sql(
      `WITH beat AS (
         UPDATE ${t.jobs} SET locked_until = ${NOW} + ${ms('$3')}, prefetched = prefetched AND NOT (id = ANY($4::bigint[]))
         WHERE id = ANY($1::bigint[]) AND locked_by = $2
         RETURNING id, cancel_requested
       ), async AS (${ASYNC_COMMIT})
       SELECT beat.* FROM beat, async`,
      [ids, workerId, leaseMs, started],
    );

  /**
   * Expired leases, oldest first, in one bounded statement through the partial lease index;
   * SKIP LOCKED so rescuers on several nodes split the work. Out of attempts → dead with a
   * LeaseExpired error; a pending cancel → cancelled; otherwise available now. A job still
   * prefetched never started: it gets its attempt back, is never dead for it, and is marked
   * `rescued_unstarted` (its next start is recorded before it runs, so a crash then counts).
   */
  const rescueJobs = (limit: number, message: string) => {
    const dead = `(NOT j.prefetched AND j.max_attempts IS NOT NULL AND j.attempt >= j.max_attempts)`;
    return sql(
      `WITH expired AS (
         SELECT id FROM ${t.jobs} WHERE state = 'running' AND locked_until <= ${CLOCK}
         ORDER BY locked_until LIMIT $1 FOR UPDATE SKIP LOCKED
       ), moved AS (
         UPDATE ${t.jobs} AS j
         SET state = CASE WHEN j.cancel_requested THEN 'cancelled' WHEN ${dead} THEN 'dead' ELSE 'available' END,
             failed_at = CASE WHEN j.cancel_requested OR ${dead} THEN ${NOW} ELSE j.failed_at END,
             run_at = CASE WHEN j.cancel_requested OR ${dead} THEN j.run_at ELSE ${NOW} END,
             last_error = CASE WHEN NOT j.cancel_requested AND ${dead} THEN json_build_object(
                 'name', 'LeaseExpired', 'message', $2::text, 'attempt', j.attempt,
                 'at', to_char(${NOW} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
               ELSE j.last_error END,
             unique_active = CASE WHEN j.cancel_requested THEN NULL
                                  WHEN ${dead} AND j.unique_while IS DISTINCT FROM 'until-complete' THEN NULL
                                  ELSE j.unique_active END,
             attempt = CASE WHEN j.prefetched THEN greatest(j.attempt - 1, 0) ELSE j.attempt END,
             rescued_unstarted = j.rescued_unstarted OR j.prefetched,
             locked_by = NULL, locked_until = NULL, cancel_requested = false, prefetched = false
         FROM expired WHERE j.id = expired.id
         RETURNING j.id, j.queue, j.state
       ), counted AS (${insertDeltas(t, [
         deltaPart('moved', 'running', -1),
         deltaPart('moved', 'pending', 1, '0', `state = 'available'`),
         deltaPart('moved', 'dead', 1, '0', `state = 'dead'`),
         deltaPart('moved', 'died', 1, MINUTE_NOW, `state = 'dead'`),
       ])})
       SELECT count(*)::int AS n FROM moved WHERE ${notifyQueues('moved', '$3', `state = 'available'`)}`,
      [limit, message, t.channel],
    );
  };

  return {
    heartbeat: (ids, workerId, leaseMs, started) => step('write', function* () {
      const { rows } = yield heartbeatJobs(ids, workerId, leaseMs, started);
      return { held: rows.map((r) => asString(r.id)), cancelled: rows.filter((r) => asBool(r.cancel_requested)).map((r) => asString(r.id)) };
    }),
    rescue: (limit, message) => step('write', function* () {
      const { rows } = yield rescueJobs(limit, message);
      return Number(rows[0]?.n ?? 0);
    }),
  };
}
