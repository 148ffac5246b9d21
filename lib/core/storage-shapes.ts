import type { EnqueueResult, JobErrorInfo, JobRecord, JobState } from './job-record.js';
import type { QueueLimits } from './limits.js';
import { knownKeys } from './known-keys.js';

// The shapes the `Storage` contract (`storage.ts`, which re-exports them) takes and returns.

/**
 * What `Storage.wakeups()` emits. A queue name: work may be due there now. `{ queue, inMs }`:
 * a job just stored there falls due `inMs` milliseconds after the storage stored it (a
 * duration measured on the storage's clock, never a time, so instances whose clocks differ
 * agree); the worker adds it to its own clock when the wake-up arrives, so it may look a
 * little late (the delivery), never early. A hint, like the rest: workers poll anyway.
 */
export type Wakeup = string | { queue: string; inMs: number };

export interface EnqueueStorageOptions {
  manager?: unknown;
}

export interface ClaimedEnqueue {
  result: EnqueueResult;
  /** The job as claimed by the worker, or null when it was stored waiting (paused queue). */
  claimed: JobRecord | null;
}

export interface CompleteItem {
  id: string;
  workerId: string;
  /** JSON text of the handler's return value, or null. */
  result?: string | null;
  /**
   * false: the job is in no flow or batch (its record has no `parentId` or `batchId`), so the
   * storage may write its outcome without the flow bookkeeping (one statement, no transaction).
   * Absent or true: the storage updates the parent or batch in the outcome's own transaction.
   */
  linked?: boolean;
}

export interface FailItem {
  id: string;
  workerId: string;
  error: JobErrorInfo;
  /** null: out of attempts, the job is dead. */
  retryDelayMs: number | null;
  cancelled?: boolean;
  /** A shutdown interruption past the cap, counted as this failure: `interruptions` goes up by one too. */
  interrupted?: boolean;
  /** As `CompleteItem.linked`. */
  linked?: boolean;
}

export interface ReleaseOptions {
  /** The runs were cut short by a shutdown: each job's `interruptions` goes up by one. */
  interrupted?: boolean;
}

export interface HeartbeatResult {
  lost: string[];
  cancelled: string[];
}

export interface ListFilter {
  queue?: string;
  state?: JobState;
  name?: string;
  /** Only the children of this flow parent. */
  parentId?: string;
  /** Only the jobs of this batch. */
  batchId?: string;
  limit?: number;
  /** Opaque cursor returned by the previous page. */
  cursor?: string | null;
}

export const LIST_FILTER_KEYS = knownKeys<ListFilter>({ queue: true, state: true, name: true, parentId: true, batchId: true, limit: true, cursor: true });

export interface ListPage {
  jobs: JobRecord[];
  nextCursor: string | null;
}

export interface PruneOptions {
  /** Jobs finished before this instant are deleted. */
  olderThan: Date;
  states: JobState[];
  /** Only jobs of this queue (default: every queue). */
  queue?: string;
  /** Rows per batch (default 1000). */
  batchSize?: number;
}

export interface PeriodCounts {
  lastHour: number;
  today: number;
  thisMonth: number;
  allTime: number;
}

/** One minute of one queue in `Storage.throughput()`. */
export interface ThroughputMinute {
  queue: string;
  /** Start of the minute, epoch ms on the storage's clock. */
  minute: number;
  completed: number;
  /** Jobs that became dead in that minute. */
  died: number;
}

/** See `Storage.oldestAvailable`. */
export interface OldestAvailable {
  queue: string;
  /** When the oldest due waiting job of `queue` fell due. */
  runAt: Date;
  /** How long ago that was, on the storage's clock (never negative). */
  ageMs: number;
}

export interface QueueStats {
  queue: string;
  /** Flow parents waiting for their children. */
  waiting: number;
  available: number;
  scheduled: number;
  running: number;
  dead: number;
  paused: boolean;
  completed: PeriodCounts;
  /** Jobs that became dead, by period. */
  died: PeriodCounts;
  /** Its cluster-wide limits, when it has any (set by `QueueService`, not by the storage). */
  limits?: QueueLimits;
  /** Until when it starts no job (after a `RateLimitedError`), when that is still ahead. */
  blockedUntil?: Date;
}
