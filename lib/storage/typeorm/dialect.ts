import type { JobState, UniqueWhile } from '../../core/job-record.js';
import type { Row, Step } from './flow.js';
import type { DialectKind, TableNames } from './table-names.js';

/**
 * Everything that differs between databases: each method returns a flow of parameterized
 * statements (see `flow.ts`) and how it must run. Row shapes are decoded by `job-row.ts`.
 * Ids in and out are decimal strings; callers pass only ids that `isJobId` accepts.
 *
 * Where each method's SQL lives, per database (files in `dialects/`). The flow (which
 * statements run, in which order) is beside the SQL or, for the methods whose flow is the same
 * on every database, in `common-flows.ts`, with each database's SQL in its `*.statements.ts`.
 * "+Δ": the count changes are a second statement in the same transaction, `applyDeltas` of
 * that database's `*.statements.ts` (PostgreSQL appends them in the same statement, a
 * data-modifying CTE); `batch-helpers.ts` (no SQL) counts the changed rows for it. Every file
 * also uses its database's shared fragments in `*.statements.ts` (clock, columns, buckets).
 *
 * | method          | PostgreSQL             | MariaDB / MySQL             | SQLite                  | flow            |
 * |-----------------|------------------------|-----------------------------|-------------------------|-----------------|
 * | now             | postgres.statements.ts | mysql.statements.ts         | sqlite.statements.ts    | common-flows.ts |
 * | insert          | postgres-enqueue.ts    | mysql.dialect.ts +Δ ¹       | sqlite.dialect.ts +Δ    | beside the SQL  |
 * | holders         | postgres.statements.ts | mysql.statements.ts         | sqlite.statements.ts    | common-flows.ts |
 * | releaseExpired  | postgres.statements.ts | mysql.statements.ts         | sqlite.statements.ts    | common-flows.ts |
 * | claim           | postgres-claim.ts      | mysql.dialect.ts +Δ         | sqlite.dialect.ts +Δ    | beside the SQL  |
 * | insertClaimed   | postgres-claim.ts      | mysql.dialect.ts +Δ ¹       | sqlite.dialect.ts +Δ    | beside the SQL  |
 * | complete        | postgres-outcomes.ts   | mysql-guarded-writes.ts +Δ  | sqlite.dialect.ts +Δ    | beside the SQL  |
 * | fail            | postgres-outcomes.ts   | mysql-guarded-writes.ts +Δ  | sqlite.dialect.ts +Δ    | beside the SQL  |
 * | release         | postgres-outcomes.ts   | mysql-guarded-writes.ts +Δ  | sqlite.dialect.ts +Δ    | beside the SQL  |
 * | heartbeat       | postgres-leases.ts     | mysql-guarded-writes.ts     | sqlite.dialect.ts       | beside the SQL  |
 * | rescue          | postgres-leases.ts     | mysql.dialect.ts +Δ         | sqlite.dialect.ts +Δ    | beside the SQL  |
 * | progress        | postgres.statements.ts | mysql.statements.ts         | sqlite.statements.ts    | common-flows.ts |
 * | get             | postgres.statements.ts | mysql.statements.ts         | sqlite.statements.ts    | common-flows.ts |
 * | findByUniqueKey | postgres.statements.ts | mysql.statements.ts         | sqlite.statements.ts    | common-flows.ts |
 * | list            | postgres.statements.ts | mysql.statements.ts         | sqlite.statements.ts    | common-flows.ts |
 * | cancel          | postgres.statements.ts | mysql.statements.ts         | sqlite.statements.ts    | common-flows.ts |
 * | retry           | postgres.statements.ts | mysql.statements.ts         | sqlite.statements.ts    | common-flows.ts |
 * | runNow          | postgres.statements.ts | mysql.statements.ts         | sqlite.statements.ts    | common-flows.ts |
 * | statsRows       | postgres.statements.ts | mysql.statements.ts         | sqlite.statements.ts    | common-flows.ts |
 * | oldestAvailable | postgres.statements.ts | mysql.statements.ts         | sqlite.statements.ts    | common-flows.ts |
 * | foldCounters    | fold-statements.ts     | fold-statements.ts          | fold-statements.ts      | beside the SQL  |
 * | recount         | recount-statements.ts  | recount-statements.ts       | recount-statements.ts   | beside the SQL  |
 * | pause           | postgres.statements.ts | mysql.statements.ts         | sqlite.statements.ts    | common-flows.ts |
 * | resume          | postgres.statements.ts | mysql.statements.ts         | sqlite.statements.ts    | common-flows.ts |
 * | pausedQueues    | postgres.statements.ts | mysql.statements.ts         | sqlite.statements.ts    | common-flows.ts |
 * | prune           | postgres.statements.ts | mysql.statements.ts ¹       | sqlite.statements.ts    | common-flows.ts |
 * | pruneCounters   | postgres.statements.ts | mysql.statements.ts         | sqlite.statements.ts    | common-flows.ts |
 * | (queue limits)  | limit-statements.ts    | limit-statements.ts         | limit-statements.ts     | limit-flows.ts  |
 *
 * ¹ MariaDB reads what these wrote through RETURNING. MySQL 8 has no RETURNING: there the flows
 * are in `mysql-no-returning.ts` (the INSERT's text still from `mysql.dialect.ts`). Which of
 * the two a server gets is decided at start-up from its version (`mysql-path.ts`); the other
 * methods are the same on both.
 *
 * Queue limits are not Dialect methods: `limit-flows.ts` builds, from a Dialect, the claim of a
 * limited queue (around the dialect's `claim`, with its `group` filter for grouped claims), and
 * the writes and reads of limits and blocks; `TypeOrmStorage` uses them for queues with limits.
 * Flows and batches (`flow-links.ts`, `batch-links.ts`, `link-sql.ts`) are not Dialect methods:
 * written once in portable SQL, they wrap the finishing transitions' steps (see the README).
 *
 * (`findByUniqueKey` is `byUniqueKey` there; `cancel`, `retry` and `prune` use `lockJob`,
 * `holders`, `releaseExpired`, `get` and `applyDeltas` of the same file.) Each `<db>.dialect.ts` assembles its
 * database's Dialect from these.
 */
export interface Dialect {
  readonly kind: DialectKind;
  readonly tables: TableNames;
  /** Rows per multi-row INSERT and ids per IN list / array: under every bind-parameter limit. */
  readonly maxRowsPerStatement: number;
  now(): Step<number>;
  insert(rows: InsertRow[]): Step<InsertedRow[]>;
  /** Ids of the jobs holding these unique keys now (in their states, within their windows). */
  holders(keys: string[]): Step<Map<string, string>>;
  /**
   * Holders of these keys whose unique window has ended (on the database's clock) give the
   * key up (`unique_active` NULL), so the next INSERT of the key can take it. Returns how many.
   */
  releaseExpired(keys: string[]): Step<number>;
  /**
   * The first `startNow` rows in claim order start at once; the rest are `prefetched` (see `Storage.claim`).
   * `group` (limited queues' grouped claims): only jobs of that group (a name), or without one (null).
   */
  claim(queue: string, workerId: string, limit: number, leaseMs: number, startNow: number, group?: string | null): Step<Row[]>;
  /**
   * Optional: `claim` in one statement for a queue whose only limit is a global concurrency
   * (kept by slot holds, not by the claim): no row when the queue's `queue_limit` row holds a
   * block or any other limit, and then the caller takes the limited claim (`limit-flows.ts`).
   */
  claimUnlessLimited?(queue: string, workerId: string, limit: number, leaseMs: number, startNow: number): Step<Row[]>;
  /**
   * Optional: one job (due now, no unique key) stored already claimed by `workerId`, or
   * available when its queue is paused; the stored row, as `claim` returns rows.
   */
  insertClaimed?(row: InsertRow, workerId: string, leaseMs: number): Step<Row>;
  complete(items: CompleteRow[]): Step<string[]>;
  fail(items: FailRow[]): Step<string[]>;
  /**
   * `interrupted`: a shutdown cut the runs short; each job's `interruptions` goes up by one.
   * `cancelled`: the held ones that ended cancelled instead (cancellation requested while they ran).
   */
  release(ids: string[], workerId: string, runAt: Date | null, interrupted: boolean): Step<ReleasedRows>;
  /** `started`: ids among `ids` whose start to record (no longer `prefetched`). */
  heartbeat(ids: string[], workerId: string, leaseMs: number, started: string[]): Step<HeartbeatRows>;
  rescue(limit: number, message: string): Step<number>;
  progress(id: string, workerId: string, percent: number, data: string | null | undefined): Step<void>;
  get(id: string): Step<Row | null>;
  findByUniqueKey(uniqueKey: string): Step<Row | null>;
  /** Newest first, ids below `before`, at most `limit` rows. */
  list(where: ListWhere, limit: number, before: string | null): Step<Row[]>;
  cancel(id: string): Step<Row | null>;
  retry(id: string): Step<Row | null>;
  /** A pending job due now (its pending count moves from its minute to "due"). */
  runNow(id: string): Step<Row | null>;
  /** Rows for `stats()` as of `at` (epoch ms on the database clock). */
  statsRows(at: number, window: CounterWindow): Step<StatsRow[]>;
  /** The `run_at` of the oldest due pending job of each of `queues` that has one, and the database's clock. */
  oldestAvailable(queues: string[]): Step<{ now: number; oldest: Map<string, Date> }>;
  /**
   * Folds up to `limit` deltas into the counters and moves pending buckets whose minute has
   * come into bucket 0. Safe to run anywhere, concurrently. Returns how many deltas it folded.
   */
  foldCounters(limit: number): Step<number>;
  /**
   * Recomputes the state counts (pending by due bucket, running, dead) from the jobs and adds
   * what the stored counts miss; safe beside concurrent writers. Returns how many counts were off.
   */
  recount(): Step<number>;
  pause(queue: string): Step<void>;
  resume(queue: string): Step<void>;
  pausedQueues(): Step<string[]>;
  /** Deletes up to `limit` jobs in the finished `state` that finished before `olderThan`. */
  /** `queue` null: every queue. */
  prune(olderThan: Date, state: JobState, limit: number, queue: string | null): Step<number>;
  /** Drops counter buckets no period of `stats()` reads any more. */
  pruneCounters(window: CounterWindow): Step<number>;
}

/** A job ready for INSERT: validated, JSON already text. */
export interface InsertRow {
  queue: string;
  name: string;
  payload: string;
  /** JSON text of the headers, or null when none. */
  headers: string | null;
  priority: number;
  maxAttempts: number | null;
  runAt: Date | null;
  delayMs: number;
  uniqueKey: string | null;
  uniqueWhile: UniqueWhile | null;
  /** The unique window's length (null without a key, or without a window); its end is computed in SQL. */
  uniqueTtlMs: number | null;
  backoff: string | null;
  timeoutMs: number | null;
  /** The job's group (`job_group`), or null. */
  group: string | null;
}

/** A row the INSERT stored (rows skipped for a taken unique key are absent). */
export interface InsertedRow {
  id: string;
  uniqueKey: string | null;
}

export interface CompleteRow {
  id: string;
  workerId: string;
  result: string | null;
}

export interface FailRow {
  id: string;
  workerId: string;
  /** JSON text of the JobErrorInfo. */
  error: string;
  retryDelayMs: number | null;
  cancelled: boolean;
  /** A shutdown interruption past the cap: `interruptions` goes up by one too. */
  interrupted?: boolean;
}

export interface HeartbeatRows {
  held: string[];
  cancelled: string[];
}

/** The ids a release found held, and those among them that ended cancelled rather than waiting again. */
export type ReleasedRows = HeartbeatRows;

/** Events counted by period (grains m / h / a). */
export type CounterEvent = 'completed' | 'died';

/** State counts kept exact by the writes that change them (grain 's'). */
export type StateEvent = 'pending' | 'running' | 'dead' | 'waiting';

export type CountEvent = CounterEvent | StateEvent;

/**
 * A change of one roll-up count, written in the same transaction as the change of state.
 * `runAt` (pending only): the job's run_at as the dialect binds times; the bucket is its
 * minute when that is after the current minute, else 0 (due). Absent: due now.
 * Events are bucketed by the minute they happen in, on the database clock.
 */
export interface CountDelta {
  queue: string;
  event: CountEvent;
  n: number;
  runAt?: unknown;
}

/**
 * What `stats()` reads, in one statement (one snapshot): folded counters (`counter`), deltas
 * not folded yet (`delta`, summed per bucket), and per queue the pending jobs due later in
 * the current minute (`boundary`), which no counter can split from the due ones.
 */
export interface StatsRow {
  src: 'counter' | 'delta' | 'boundary';
  /** Counters: m, h, a, s. */
  grain: string;
  bucket: number;
  queue: string;
  event: string;
  n: number;
}

/** Bucket starts (epoch ms, on the database's clock) that bound each period of `stats()`. */
export interface CounterWindow {
  /** Minute buckets after this count as "last hour". */
  hourAgo: number;
  dayStart: number;
  monthStart: number;
}

export interface ListWhere {
  queue?: string;
  state?: JobState;
  name?: string;
  parentId?: string;
  batchId?: string;
}
