import type { JobState, UniqueWhile } from '../../core/job-record.js';
import type { Row, Step } from './flow.js';
import type { DialectKind, TableNames } from './table-names.js';

/** A job ready for INSERT: validated, JSON already text. */
export interface InsertRow {
  queue: string;
  name: string;
  payload: string;
  priority: number;
  maxAttempts: number | null;
  runAt: Date | null;
  delayMs: number;
  uniqueKey: string | null;
  uniqueWhile: UniqueWhile | null;
  backoff: string | null;
  timeoutMs: number | null;
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
}

export interface HeartbeatRows {
  held: string[];
  cancelled: string[];
}

export interface StateCountRow {
  queue: string;
  state: JobState;
  /** runAt <= now (pending states only). */
  due: boolean;
  n: number;
}

export interface CounterRow {
  queue: string;
  event: CounterEvent;
  lastHour: number;
  today: number;
  thisMonth: number;
  allTime: number;
}

export type CounterEvent = 'completed' | 'died';

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
}

/**
 * Everything that differs between databases: each method returns a flow of parameterized
 * statements (see `flow.ts`) and how it must run. Row shapes are decoded by `job-row.ts`.
 * Ids in and out are decimal strings; callers pass only ids that `isJobId` accepts.
 */
export interface Dialect {
  readonly kind: DialectKind;
  readonly tables: TableNames;
  /** Rows per multi-row INSERT and ids per IN list / array: under every bind-parameter limit. */
  readonly maxRowsPerStatement: number;
  now(): Step<number>;
  insert(rows: InsertRow[]): Step<InsertedRow[]>;
  /** Ids of the jobs holding these unique keys now. */
  holders(keys: string[]): Step<Map<string, string>>;
  claim(queue: string, workerId: string, limit: number, leaseMs: number): Step<Row[]>;
  complete(items: CompleteRow[]): Step<string[]>;
  fail(items: FailRow[]): Step<string[]>;
  release(ids: string[], workerId: string, runAt: Date | null): Step<string[]>;
  heartbeat(ids: string[], workerId: string, leaseMs: number): Step<HeartbeatRows>;
  rescue(limit: number, message: string): Step<number>;
  progress(id: string, workerId: string, percent: number, data: string | null | undefined): Step<void>;
  get(id: string): Step<Row | null>;
  findByUniqueKey(uniqueKey: string): Step<Row | null>;
  /** Newest first, ids below `before`, at most `limit` rows. */
  list(where: ListWhere, limit: number, before: string | null): Step<Row[]>;
  cancel(id: string): Step<Row | null>;
  retry(id: string): Step<Row | null>;
  stateCounts(): Step<StateCountRow[]>;
  counters(window: CounterWindow): Step<CounterRow[]>;
  pause(queue: string): Step<void>;
  resume(queue: string): Step<void>;
  pausedQueues(): Step<string[]>;
  /** Deletes up to `limit` jobs in the finished `state` that finished before `olderThan`. */
  prune(olderThan: Date, state: JobState, limit: number): Step<number>;
  /** Drops counter buckets no period of `stats()` reads any more. */
  pruneCounters(window: CounterWindow): Step<number>;
}
