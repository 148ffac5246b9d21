import type { Clock } from './clock.js';
import type { EngineLogger, QueueOptions } from './engine-options.js';
import { knownKeys } from './known-keys.js';
import type { BackoffInput, MaxRetriesInput } from './retry-policy.js';

/** The options of one instance's jobs machinery, but for its storage (`resolveSettings` checks them). */
export interface JobsOptions {
  /** Per-queue settings; queues that have handlers but no entry get `defaultConcurrency`. */
  queues?: Record<string, QueueOptions>;
  /** false: this instance only enqueues (no workers, unknown job names allowed). Default true. */
  workers?: boolean;
  /** Concurrency of queues not listed in `queues`; default 10. */
  defaultConcurrency?: number;
  /** How often an idle queue looks for due jobs; default 1000 ms. */
  pollIntervalMs?: number;
  /** How long a claim lasts without a heartbeat; default 30 000 ms. */
  leaseMs?: number;
  /** Default: a third of `leaseMs`. */
  heartbeatIntervalMs?: number;
  /** How often this instance returns jobs of dead workers; default `leaseMs`. */
  rescueIntervalMs?: number;
  /** How long shutdown waits for running jobs before aborting them; default 10 000 ms. */
  shutdownTimeoutMs?: number;
  /** After an abort, how long a handler may take to settle; default 5000 ms. */
  abortGraceMs?: number;
  /** Default retry policy of jobs whose processor sets none: 5 retries. */
  maxRetries?: MaxRetriesInput;
  /** Default: exponential, base 2 (2^n s), jitter, 1 h cap. */
  backoff?: BackoffInput;
  /** Default timeout (ms) of every job; none by default. */
  timeout?: number;
  /** Largest payload accepted at enqueue, in bytes of JSON; default 1 MiB. */
  maxPayloadBytes?: number;
  /**
   * A job enqueued here (due now, no unique key, not inside a caller's transaction) for a
   * queue whose worker on this instance is idle is stored already claimed by that worker and
   * starts at once: one database round trip instead of an INSERT, a wake-up and a claim.
   * false: every job is stored waiting and claimed by whichever instance comes first.
   * Default true.
   */
  localHandoff?: boolean;
  /**
   * How many times a shutdown may interrupt a running job and hand it back without counting
   * its attempt; the next interruption counts as a failed attempt (retried with backoff, or
   * dead when out of attempts), so a job that never finishes before a deploy cannot loop for
   * ever. Default 3.
   */
  maxInterruptions?: number;
  /** Completions written per statement, at most; default 500. */
  ackBatchSize?: number;
  /**
   * What is kept: `completedMs` — completed jobs are deleted this long after they complete
   * (default 24 h; `false` keeps them). Dead jobs are kept until retried or pruned with
   * `QueueService.prune()`. Statistics survive pruning.
   */
  retention?: { completedMs?: number | false; intervalMs?: number };
  /** Time source (tests): the engine's timers and the memory storage follow it. */
  clock?: Clock;
  /** Where the engine logs; default Nest's Logger; false: silent. */
  logger?: EngineLogger | false;
}

export const JOBS_OPTION_KEYS = knownKeys<JobsOptions>({
  queues: true, workers: true, defaultConcurrency: true, pollIntervalMs: true, leaseMs: true, heartbeatIntervalMs: true,
  rescueIntervalMs: true, shutdownTimeoutMs: true, abortGraceMs: true, maxRetries: true, backoff: true, timeout: true,
  maxPayloadBytes: true, localHandoff: true, maxInterruptions: true, ackBatchSize: true, retention: true, clock: true, logger: true,
});

export const RETENTION_OPTION_KEYS = knownKeys<NonNullable<JobsOptions['retention']>>({ completedMs: true, intervalMs: true });
