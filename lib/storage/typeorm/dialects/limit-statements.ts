import type { DialectKind, TableNames } from '../table-names.js';
import { sql, type Sql } from '../flow.js';
import { EPOCH_MS } from './mysql.statements.js';
import { NOW as SQLITE_NOW } from './sqlite.statements.js';

/**
 * The statements of queue limits, per database: the `queue_limit` row of a limited queue (its
 * limits, start log, block, and the group limits with their round-robin cursor) and the
 * `group_limit` rows of its groups (start log, block). The flows that use them, and why they
 * are shaped so, are in `limit-flows.ts`; the rules in `core/limits.ts`.
 */
export interface LimitSql {
  /**
   * The queue's row, locked for the claim's transaction, with the database's clock as `now`
   * (epoch ms): on PostgreSQL read once the lock is held; MariaDB's is the statement's start,
   * which may be before a wait for the lock (see `clock`).
   */
  lockRow(queue: string): Sql;
  /** `now`: the database's clock at this statement's start (MariaDB: after `lockRow`'s wait). */
  clock(): Sql;
  /** `job_group, n`: running jobs per group. */
  runningByGroup(queue: string): Sql;
  /** `grp, blocked_until, starts` of the queue's group rows. */
  groupRows(queue: string): Sql;
  /**
   * `grp`: up to `limit` distinct groups with pending jobs, in order, after `after` (or from
   * the first): a skip scan of group_idx, one probe per group, whatever the backlog.
   */
  groupsAfter(queue: string, after: string | null, limit: number): Sql;
  saveStarts(queue: string, starts: string, cursor: string | null): Sql;
  saveGroupStarts(queue: string, group: string, starts: string, lastStart: number): Sql;
  /** Deletes group rows with no block ahead and no start since `startedBefore`. */
  pruneGroups(queue: string, now: number, startedBefore: number): Sql;
  upsert(queue: string, v: LimitValues): Sql;
  block(queue: string, ms: number): Sql;
  blockGroup(queue: string, group: string, ms: number): Sql;
  /** The queue row's `group_blocked_until` at least as late as the group's block just stored. */
  markGroupBlock(queue: string, ms: number): Sql;
  list(): Sql;
}

/** The columns `upsert` writes, null where unset. */
export interface LimitValues {
  gc: number | null;
  rate: number | null;
  intervalMs: number | null;
  groupConcurrency: number | null;
  groupRate: number | null;
  groupIntervalMs: number | null;
}

const COLUMNS = `queue, global_concurrency, rate_limit, rate_interval_ms, blocked_until,
  group_concurrency, group_rate_limit, group_rate_interval_ms, group_blocked_until, group_cursor`;
const SET_COLUMNS = ['global_concurrency', 'rate_limit', 'rate_interval_ms', 'group_concurrency', 'group_rate_limit', 'group_rate_interval_ms'];
const values = (v: LimitValues) => [v.gc, v.rate, v.intervalMs, v.groupConcurrency, v.groupRate, v.groupIntervalMs];

export function limitStatements(kind: DialectKind, t: TableNames): LimitSql {
  // Placeholders: PostgreSQL numbers them, the others take `?` in order.
  const p = kind === 'postgres' ? (i: number) => `$${i}` : () => '?';
  const now = kind === 'postgres' ? `floor(extract(epoch from statement_timestamp()) * 1000)::bigint` : kind === 'mysql' ? EPOCH_MS : SQLITE_NOW;
  const forUpdate = kind === 'sqlite' ? '' : ' FOR UPDATE';
  // Pending jobs of the queue, through the index that group_idx's columns lead with.
  const pendingOf = kind === 'mysql' ? `pending_group_queue = ?` : `queue = ${p(1)} AND state IN ('scheduled', 'available', 'retryable')`;
  const greatest = kind === 'sqlite' ? 'max' : 'GREATEST';
  const upsertTail = (keys: string, sets: string[]) =>
    kind === 'mysql'
      ? `ON DUPLICATE KEY UPDATE ${sets.map((c) => `${c} = VALUES(${c})`).join(', ')}`
      : `ON CONFLICT (${keys}) DO UPDATE SET ${sets.map((c) => `${c} = excluded.${c}`).join(', ')}`;
  const starts = kind === 'mysql' ? ", '[]'" : '';
  const startsCol = kind === 'mysql' ? ', starts' : '';
  return {
    // PostgreSQL: the clock read once the lock is held (statement_timestamp() is the
    // statement's start, before any wait for the lock, and a start log entry written with it
    // would be dated before the starts it counts).
    lockRow: (q) => kind === 'postgres'
      ? sql(`WITH l AS (SELECT ${COLUMNS}, starts FROM ${t.limits} WHERE queue = $1 FOR UPDATE)
             SELECT l.*, floor(extract(epoch from clock_timestamp()) * 1000)::bigint AS now FROM l`, [q])
      : sql(`SELECT ${COLUMNS}, starts, ${now} AS now FROM ${t.limits} WHERE queue = ${p(1)}${forUpdate}`, [q]),
    clock: () => sql(`SELECT ${now} AS now`),
    runningByGroup: (q) => sql(
      `SELECT job_group, count(*) AS n FROM ${t.jobs} WHERE queue = ${p(1)} AND state = 'running' AND job_group IS NOT NULL GROUP BY job_group`,
      [q],
    ),
    groupRows: (q) => sql(`SELECT grp, blocked_until, starts FROM ${t.groupLimits} WHERE queue = ${p(1)}`, [q]),
    groupsAfter: (q, after, limit) => sql(
      // '' sorts before every group (a group has at least one character).
      `WITH RECURSIVE g (grp, k) AS (
         SELECT (SELECT min(job_group) FROM ${t.jobs} WHERE ${pendingOf} AND job_group IS NOT NULL AND job_group > ${p(2)}), 1
         UNION ALL
         SELECT (SELECT min(job_group) FROM ${t.jobs} WHERE ${pendingOf} AND job_group IS NOT NULL AND job_group > g.grp), g.k + 1
         FROM g WHERE g.grp IS NOT NULL AND g.k < ${p(3)}
       )
       SELECT grp FROM g WHERE grp IS NOT NULL`,
      kind === 'postgres' ? [q, after ?? '', limit] : [q, after ?? '', q, limit],
    ),
    saveStarts: (q, s, cursor) =>
      kind === 'postgres'
        ? sql(`UPDATE ${t.limits} SET starts = $2, group_cursor = $3 WHERE queue = $1`, [q, s, cursor])
        : sql(`UPDATE ${t.limits} SET starts = ?, group_cursor = ? WHERE queue = ?`, [s, cursor, q]),
    saveGroupStarts: (q, g, s, last) => sql(
      `INSERT INTO ${t.groupLimits} (queue, grp, starts, last_start) VALUES (${p(1)}, ${p(2)}, ${p(3)}, ${p(4)})
       ${upsertTail('queue, grp', ['starts', 'last_start'])}`,
      [q, g, s, last],
    ),
    pruneGroups: (q, at, before) => sql(
      `DELETE FROM ${t.groupLimits} WHERE queue = ${p(1)} AND (blocked_until IS NULL OR blocked_until <= ${p(2)})
         AND (last_start IS NULL OR last_start <= ${p(3)})`,
      [q, at, before],
    ),
    upsert: (q, v) => sql(
      `INSERT INTO ${t.limits} (queue, ${SET_COLUMNS.join(', ')}${startsCol}) VALUES (${[1, 2, 3, 4, 5, 6, 7].map(p).join(', ')}${starts})
       ${upsertTail('queue', SET_COLUMNS)}`,
      [q, ...values(v)],
    ),
    block: (q, ms) => sql(
      `INSERT INTO ${t.limits} (queue, blocked_until${startsCol}) VALUES (${p(1)}, ${now} + ${p(2)}${starts})
       ${kind === 'mysql'
         ? `ON DUPLICATE KEY UPDATE blocked_until = GREATEST(COALESCE(blocked_until, 0), VALUES(blocked_until))`
         : `ON CONFLICT (queue) DO UPDATE SET blocked_until = ${greatest}(COALESCE(${t.limits}.blocked_until, 0), excluded.blocked_until)`}`,
      [q, ms],
    ),
    blockGroup: (q, g, ms) => sql(
      `INSERT INTO ${t.groupLimits} (queue, grp, blocked_until${startsCol}) VALUES (${p(1)}, ${p(2)}, ${now} + ${p(3)}${starts})
       ${kind === 'mysql'
         ? `ON DUPLICATE KEY UPDATE blocked_until = GREATEST(COALESCE(blocked_until, 0), VALUES(blocked_until))`
         : `ON CONFLICT (queue, grp) DO UPDATE SET blocked_until = ${greatest}(COALESCE(${t.groupLimits}.blocked_until, 0), excluded.blocked_until)`}`,
      [q, g, ms],
    ),
    markGroupBlock: (q, ms) => sql(
      `INSERT INTO ${t.limits} (queue, group_blocked_until${startsCol}) VALUES (${p(1)}, ${now} + ${p(2)}${starts})
       ${kind === 'mysql'
         ? `ON DUPLICATE KEY UPDATE group_blocked_until = GREATEST(COALESCE(group_blocked_until, 0), VALUES(group_blocked_until))`
         : `ON CONFLICT (queue) DO UPDATE SET group_blocked_until = ${greatest}(COALESCE(${t.limits}.group_blocked_until, 0), excluded.group_blocked_until)`}`,
      [q, ms],
    ),
    list: () => sql(`SELECT ${COLUMNS} FROM ${t.limits} ORDER BY queue`),
  };
}
