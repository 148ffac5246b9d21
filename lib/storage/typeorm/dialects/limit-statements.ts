import { limitedClaim, parseStartLog, recordStarts, type LimitState, type QueueLimits, type StoredQueueLimits } from '../../../core/limits.js';
import type { Dialect } from '../dialect.js';
import { sql, step, type Row, type Sql, type Step } from '../flow.js';
import { asNumber, asString } from '../job-row.js';
import type { DialectKind, TableNames } from '../table-names.js';
import { EPOCH_MS } from './mysql.statements.js';
import { NOW as SQLITE_NOW } from './sqlite.statements.js';

/**
 * Queue limits (global concurrency, rate limit, block), per database: the statements of the
 * `queue_limit` table and the claim of a limited queue. The rules (how many a claim may take)
 * are `core/limits.ts`'s; the claim statement itself is the dialect's own.
 *
 * A limited queue's claim is one transaction: it locks the queue's limits row (FOR UPDATE;
 * SQLite's BEGIN IMMEDIATE serializes every writer already), counts the queue's running jobs
 * when it has a global concurrency (claimed rows, prefetched ones included: the count is of
 * the rows themselves, so a finished or rescued job gives its slot back with the write that
 * changes its state, and no crash can leak one), claims at most what the limits allow with
 * the dialect's claim statement, and stores the rate limit's start log. Claims of one limited
 * queue run one at a time across the cluster; other queues are untouched.
 */
export interface LimitFlows {
  claim(queue: string, workerId: string, limit: number, leaseMs: number, startNow: number): Step<Row[]>;
  set(queue: string, limits: QueueLimits): Step<void>;
  block(queue: string, ms: number): Step<void>;
  list(): Step<StoredQueueLimits[]>;
}

interface LimitSql {
  /** The queue's row, locked, with the database's clock as `now` (epoch ms). */
  lockRow(queue: string): Sql;
  running(queue: string): Sql;
  saveStarts(queue: string, starts: string): Sql;
  upsert(queue: string, gc: number | null, rate: number | null, intervalMs: number | null): Sql;
  block(queue: string, ms: number): Sql;
  list(): Sql;
}

const COLUMNS = 'queue, global_concurrency, rate_limit, rate_interval_ms, blocked_until';

function statements(kind: DialectKind, t: TableNames): LimitSql {
  const running = (queue: string, p: string) => sql(`SELECT count(*) AS n FROM ${t.jobs} WHERE queue = ${p} AND state = 'running'`, [queue]);
  const list = () => sql(`SELECT ${COLUMNS} FROM ${t.limits} ORDER BY queue`);
  switch (kind) {
    case 'postgres': {
      const now = `floor(extract(epoch from statement_timestamp()) * 1000)::bigint`;
      return {
        lockRow: (q) => sql(`SELECT ${COLUMNS}, starts, ${now} AS now FROM ${t.limits} WHERE queue = $1 FOR UPDATE`, [q]),
        running: (q) => running(q, '$1'),
        saveStarts: (q, s) => sql(`UPDATE ${t.limits} SET starts = $2 WHERE queue = $1`, [q, s]),
        upsert: (q, gc, rate, ms) => sql(
          `INSERT INTO ${t.limits} AS l (queue, global_concurrency, rate_limit, rate_interval_ms) VALUES ($1, $2::int, $3::int, $4::bigint)
           ON CONFLICT (queue) DO UPDATE SET global_concurrency = EXCLUDED.global_concurrency,
             rate_limit = EXCLUDED.rate_limit, rate_interval_ms = EXCLUDED.rate_interval_ms`,
          [q, gc, rate, ms],
        ),
        block: (q, ms) => sql(
          `INSERT INTO ${t.limits} AS l (queue, blocked_until) VALUES ($1, ${now} + $2::bigint)
           ON CONFLICT (queue) DO UPDATE SET blocked_until = GREATEST(COALESCE(l.blocked_until, 0), EXCLUDED.blocked_until)`,
          [q, ms],
        ),
        list,
      };
    }
    case 'mysql':
      return {
        lockRow: (q) => sql(`SELECT ${COLUMNS}, starts, ${EPOCH_MS} AS now FROM ${t.limits} WHERE queue = ? FOR UPDATE`, [q]),
        running: (q) => running(q, '?'),
        saveStarts: (q, s) => sql(`UPDATE ${t.limits} SET starts = ? WHERE queue = ?`, [s, q]),
        // The same statements on MariaDB and MySQL 8 (VALUES() is deprecated, not removed, in MySQL 8).
        upsert: (q, gc, rate, ms) => sql(
          `INSERT INTO ${t.limits} (queue, global_concurrency, rate_limit, rate_interval_ms, starts) VALUES (?, ?, ?, ?, '[]')
           ON DUPLICATE KEY UPDATE global_concurrency = VALUES(global_concurrency), rate_limit = VALUES(rate_limit),
             rate_interval_ms = VALUES(rate_interval_ms)`,
          [q, gc, rate, ms],
        ),
        block: (q, ms) => sql(
          `INSERT INTO ${t.limits} (queue, blocked_until, starts) VALUES (?, ${EPOCH_MS} + ?, '[]')
           ON DUPLICATE KEY UPDATE blocked_until = GREATEST(COALESCE(blocked_until, 0), VALUES(blocked_until))`,
          [q, ms],
        ),
        list,
      };
    case 'sqlite':
      return {
        lockRow: (q) => sql(`SELECT ${COLUMNS}, starts, ${SQLITE_NOW} AS now FROM ${t.limits} WHERE queue = ?`, [q]),
        running: (q) => running(q, '?'),
        saveStarts: (q, s) => sql(`UPDATE ${t.limits} SET starts = ? WHERE queue = ?`, [s, q]),
        upsert: (q, gc, rate, ms) => sql(
          `INSERT INTO ${t.limits} (queue, global_concurrency, rate_limit, rate_interval_ms) VALUES (?, ?, ?, ?)
           ON CONFLICT (queue) DO UPDATE SET global_concurrency = excluded.global_concurrency,
             rate_limit = excluded.rate_limit, rate_interval_ms = excluded.rate_interval_ms`,
          [q, gc, rate, ms],
        ),
        block: (q, ms) => sql(
          `INSERT INTO ${t.limits} (queue, blocked_until) VALUES (?, ${SQLITE_NOW} + ?)
           ON CONFLICT (queue) DO UPDATE SET blocked_until = max(coalesce(blocked_until, 0), excluded.blocked_until)`,
          [q, ms],
        ),
        list,
      };
  }
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : asNumber(v));

function limitsOf(r: Row): QueueLimits {
  const limits: QueueLimits = {};
  const gc = num(r.global_concurrency);
  const rate = num(r.rate_limit);
  const interval = num(r.rate_interval_ms);
  if (gc !== null) limits.globalConcurrency = gc;
  if (rate !== null && interval !== null) limits.rateLimit = { limit: rate, intervalMs: interval };
  return limits;
}

export function limitFlows(dialect: Dialect): LimitFlows {
  const s = statements(dialect.kind, dialect.tables);
  return {
    claim: (queue, workerId, limit, leaseMs, startNow) => {
      const inner = (n: number, first: number) => dialect.claim(queue, workerId, n, leaseMs, first);
      const mode = inner(limit, startNow).mode;
      return step(mode === 'write' ? 'tx' : mode, function* () {
        const row = (yield s.lockRow(queue)).rows[0];
        if (!row) return yield* inner(limit, startNow).make();
        const now = asNumber(row.now);
        const state: LimitState = { limits: limitsOf(row), blockedUntil: num(row.blocked_until), starts: parseStartLog(row.starts) };
        const running = state.limits.globalConcurrency === undefined ? 0 : asNumber((yield s.running(queue)).rows[0]!.n);
        const size = limitedClaim(state, now, running, limit, startNow);
        const rows = size.limit > 0 ? yield* inner(size.limit, size.startNow).make() : [];
        if (state.limits.rateLimit) yield s.saveStarts(queue, JSON.stringify(recordStarts(state, now, rows.length)));
        return rows;
      });
    },
    set: (queue, limits) => step('write', function* () {
      yield s.upsert(queue, limits.globalConcurrency ?? null, limits.rateLimit?.limit ?? null, limits.rateLimit?.intervalMs ?? null);
    }),
    block: (queue, ms) => step('write', function* () {
      yield s.block(queue, ms);
    }),
    list: () => step('read', function* () {
      const { rows } = yield s.list();
      return rows.map((r) => {
        const until = num(r.blocked_until);
        return { queue: asString(r.queue), limits: limitsOf(r), blockedUntil: until === null ? null : new Date(until) };
      });
    }),
  };
}
