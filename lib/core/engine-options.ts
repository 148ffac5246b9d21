import type { GroupLimits, RateLimit } from './limits.js';
import { knownKeys } from './known-keys.js';
import type { Backoff, MaxRetries } from './retry-policy.js';

export interface QueueOptions {
  /** Handlers of this queue running at once on this instance (the seed's worker count). */
  concurrency?: number;
  /**
   * Jobs claimed ahead of free slots and kept in a local buffer (refilled when half empty).
   * Large for many short jobs (throughput), small or 0 for long jobs (a buffer hides work
   * from other instances). Default: sized by the runner from observed run and claim times,
   * about 100 ms of the slots' work, between 0 and 500 (see `AdaptivePrefetch`). A value
   * set here, 0 included, is used as it is.
   */
  prefetch?: number;
  /**
   * At most this many jobs of the queue running at once across all instances (stored in the
   * database; see `QueueService.setLimits`). `concurrency` stays this instance's slots.
   */
  globalConcurrency?: number;
  /** At most `limit` job starts per `intervalMs` across all instances (stored in the database). */
  rateLimit?: RateLimit;
  /** The same limits per group of the queue (`EnqueueOptions.group`), with round-robin claims across groups (stored in the database). */
  groups?: GroupLimits;
}

export const QUEUE_OPTION_KEYS = knownKeys<QueueOptions>({ concurrency: true, prefetch: true, globalConcurrency: true, rateLimit: true, groups: true });

/** Logger shape the engine writes to (Nest's `Logger` fits). */
export interface EngineLogger {
  log(message: string): void;
  warn(message: string): void;
  error(message: string, stack?: string): void;
  debug?(message: string): void;
}

export interface EngineSettings {
  queues: Record<string, QueueOptions>;
  defaultConcurrency: number;
  pollIntervalMs: number;
  leaseMs: number;
  heartbeatIntervalMs: number;
  rescueIntervalMs: number;
  shutdownTimeoutMs: number;
  /** After a timeout or shutdown abort, how long a handler may take to settle before its slot is freed. */
  abortGraceMs: number;
  /** Completions and failures written in one statement, at most. */
  ackBatchSize: number;
  maxRetries: MaxRetries;
  backoff: Backoff;
  timeoutMs?: number;
  /** Completed jobs are deleted this long after completion (null: kept). */
  retainCompletedMs: number | null;
  /** How often this instance prunes completed jobs past retention. */
  maintenanceIntervalMs: number;
  /**
   * Jobs enqueued here for a queue this instance's worker has idle are stored already claimed
   * by it and start at once (see `JobClient.enqueue`). Default true.
   */
  localHandoff?: boolean;
  /**
   * How many times a shutdown may hand a running job back without counting its attempt;
   * past that, an interruption counts as a failed attempt. Default 3.
   */
  maxInterruptions?: number;
}

export const ENGINE_DEFAULTS = {
  defaultConcurrency: 10,
  pollIntervalMs: 1000,
  leaseMs: 30_000,
  shutdownTimeoutMs: 10_000,
  abortGraceMs: 5_000,
  ackBatchSize: 500,
  retainCompletedMs: 86_400_000,
  maintenanceIntervalMs: 60_000,
  maxInterruptions: 3,
} as const;
