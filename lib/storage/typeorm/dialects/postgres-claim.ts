import type { Dialect, InsertRow } from '../dialect.js';
import { sql, step } from '../flow.js';
import type { TableNames } from '../table-names.js';
import { ASYNC_COMMIT, claimColumns, CLOCK, deltasPerQueue, epochMs, ms, NOW, PENDING } from './postgres.statements.js';

/** PostgreSQL claims: the claim (`claim`) and the local hand-off that stores a job already claimed (`insertClaimed`). */
export function postgresClaim(t: TableNames): Pick<Dialect, 'claim' | 'claimUnlessLimited' | 'insertClaimed'> {
  /**
   * Claim: one statement. The CTE picks due rows in claim order through the partial index
   * (queue, priority, run_at, id) WHERE state IN (pending) — so its cost does not grow with
   * finished or future rows elsewhere — and locks them with SKIP LOCKED, so concurrent
   * claimers take disjoint rows without waiting. A CTE (not `id IN (SELECT … LIMIT n FOR
   * UPDATE SKIP LOCKED)`) because the latter can be re-evaluated and claim more than n rows.
   * A 'queued'-unique job gives its key up once it starts. A claimed job was due, so the
   * pending count it leaves is in bucket 0. It commits without waiting for the disk
   * (`ASYNC_COMMIT`): a claim is a lease, which a database crash may undo.
   * The first `startNow` rows in claim order start at once; the rest are `prefetched` (their
   * start is recorded by a later heartbeat). A worker's usual refill is all prefetched, and
   * one with free slots and nothing buffered may ask for as many as it has slots: then the
   * statement marks every row alike. Only a claim of both kinds numbers the rows (`ranked`:
   * a window function cannot sit beside FOR UPDATE, so it reads the locked rows, at most
   * `$3`, sorted in memory), which cost ~5% of a 250-row claim here.
   */
  const claimJobs = (queue: string, workerId: string, limit: number, leaseMs: number, startNow: number, group: string | null | undefined, unlessLimited = false) => {
    const both = startNow > 0 && startNow < limit;
    const source = both ? 'ranked' : 'picked';
    // A grouped claim (see `limit-statements.ts`): through group_idx, or the claim index for jobs without a group.
    const params: unknown[] = both ? [queue, workerId, limit, leaseMs, startNow] : [queue, workerId, limit, leaseMs];
    const ofGroup = group === undefined ? '' : group === null ? 'AND job_group IS NULL' : `AND job_group IS NOT NULL AND job_group = $${params.push(group)}`;
    return sql(
      `WITH picked AS (
         SELECT id${both ? ', priority, run_at' : ''} FROM ${t.jobs}
         WHERE queue = $1 AND state IN ${PENDING} AND run_at <= ${CLOCK} ${ofGroup}
           AND NOT EXISTS (SELECT 1 FROM ${t.paused} p WHERE p.queue = $1)${unlessLimited ? `
           AND NOT EXISTS (SELECT 1 FROM ${t.limits} l WHERE l.queue = $1 AND (l.rate_limit IS NOT NULL
             OR l.group_concurrency IS NOT NULL OR l.group_rate_limit IS NOT NULL
             OR GREATEST(l.blocked_until, l.group_blocked_until) > ${epochMs('statement_timestamp()')}))` : ''}
         ORDER BY priority, run_at, id
         LIMIT $3
         FOR UPDATE SKIP LOCKED
       ), ${both ? `ranked AS (
         SELECT id, row_number() OVER (ORDER BY priority, run_at, id) > $5 AS prefetched FROM picked
       ), ` : ''}claimed AS (
         UPDATE ${t.jobs} AS j
         SET state = 'running', attempt = j.attempt + 1, locked_by = $2,
             locked_until = ${NOW} + ${ms('$4')}, started_at = ${NOW},
             prefetched = ${both ? 'ranked.prefetched' : startNow > 0 ? 'false' : 'true'},
             unique_active = CASE WHEN j.unique_while = 'queued' THEN NULL ELSE j.unique_active END
         FROM ${source} WHERE j.id = ${source}.id
         RETURNING ${claimColumns('j', ['started_at', 'locked_until'])}
       ), counted AS (${deltasPerQueue(t, 'claimed', [['pending', -1, '0'], ['running', 1, '0']])}
       ), async AS (${ASYNC_COMMIT}, ${epochMs(NOW)} AS started_at)
       SELECT claimed.*, async.started_at, async.started_at + $4::float8 AS locked_until FROM claimed, async`,
      params,
    );
  };

  /**
   * The local hand-off (see `Storage.enqueueClaimed`): one job, due now, no unique key, stored
   * already claimed by `$8` — running, attempt 1, leased, counted as running — unless its queue
   * is paused, then stored available (and its queue notified) as `insertOne`
   * (`postgres-enqueue.ts`) would. Returns the row in the claim's shape.
   */
  const insertClaimedJob = (r: InsertRow, workerId: string, leaseMs: number) =>
    sql(
      `WITH d AS (
         SELECT NOT EXISTS (SELECT 1 FROM ${t.paused} p WHERE p.queue = $1) AS go
       ), ins AS (
         INSERT INTO ${t.jobs} AS j (queue, name, payload, state, priority, max_attempts, run_at, created_at, backoff, timeout_ms,
                                     attempt, started_at, locked_by, locked_until, headers)
         SELECT $1::text, $2::text, $3::text::json, CASE WHEN go THEN 'running' ELSE 'available' END, $4::int, $5::int,
                ${NOW}, ${NOW}, $6::text::json, $7::bigint,
                CASE WHEN go THEN 1 ELSE 0 END, CASE WHEN go THEN ${NOW} END, CASE WHEN go THEN $8::text END,
                CASE WHEN go THEN ${NOW} + ${ms('$9')} END, $11::text::json
         FROM d
         RETURNING ${claimColumns('j')}
       ), counted AS (
         INSERT INTO ${t.deltas} (queue, event, bucket, n)
         SELECT queue, CASE WHEN state = 'running' THEN 'running' ELSE 'pending' END, 0, 1 FROM ins)
       SELECT *, CASE WHEN state = 'available' THEN pg_notify($10, queue) END AS notified FROM ins`,
      [r.queue, r.name, r.payload, r.priority, r.maxAttempts, r.backoff, r.timeoutMs, workerId, leaseMs, t.channel, r.headers],
    );

  return {
    claim: (queue, workerId, limit, leaseMs, startNow, group) => step('write', function* () {
      return (yield claimJobs(queue, workerId, limit, leaseMs, startNow, group)).rows;
    }),
    claimUnlessLimited: (queue, workerId, limit, leaseMs, startNow) => step('write', function* () {
      return (yield claimJobs(queue, workerId, limit, leaseMs, startNow, undefined, true)).rows;
    }),
    insertClaimed: (row, workerId, leaseMs) => step('write', function* () {
      return (yield insertClaimedJob(row, workerId, leaseMs)).rows[0]!;
    }),
  };
}
