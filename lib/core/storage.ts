import type { Observable } from 'rxjs';
import type { BatchInfo, BatchResult, EnqueueResult, FlowIds, JobRecord, NewBatch, NewFlowNode, NewJob } from './job-record.js';
import type { QueueLimits, StoredQueueLimits } from './limits.js';
import type { SlotGrant, SlotRequest } from './slots.js';
import type { Wakeup, EnqueueStorageOptions, ClaimedEnqueue, CompleteItem, FailItem, ReleaseOptions, HeartbeatResult, ListFilter, ListPage, PruneOptions, ThroughputMinute, OldestAvailable, QueueStats } from './storage-shapes.js';

export type { Wakeup, EnqueueStorageOptions, ClaimedEnqueue, CompleteItem, FailItem, ReleaseOptions, HeartbeatResult, ListFilter, ListPage, PruneOptions, PeriodCounts, ThroughputMinute, OldestAvailable, QueueStats } from './storage-shapes.js';
export { LIST_FILTER_KEYS } from './storage-shapes.js';

/**
 * The one seam to the database. Batch-first: every method is one round trip where the
 * database allows it. Every write after a claim is guarded by `lockedBy = workerId AND
 * state = 'running'`, so a worker whose lease was lost (and whose job was rescued) cannot
 * overwrite the job's new life. All "is it due / has the lease expired" comparisons use
 * the storage's own clock (the database's `now()`).
 */
export interface Storage {
  /** Connects and prepares the schema. Idempotent. */
  init(): Promise<void>;
  /** Releases connections. Idempotent. */
  close(): Promise<void>;

  /**
   * Inserts jobs, in order. A job whose `uniqueKey` is held (by a job still in the states its
   * `uniqueWhile` names, and within its `uniqueTtlMs` of its enqueue, on the storage's clock)
   * is not inserted: its result is the holder's id with `duplicate: true`. A holder whose
   * window has passed gives the key up to the next job that asks for it.
   * `options.manager` is a transaction handle of the storage's own kind (a TypeORM
   * `EntityManager`): the insert joins the caller's transaction.
   */
  enqueue(jobs: NewJob[], options?: EnqueueStorageOptions): Promise<EnqueueResult[]>;

  /**
   * Optional (flows): stores a tree of jobs in one transaction (joining `options.manager`'s):
   * every node with children is stored `waiting` with a count of its unfinished children;
   * the others as `enqueue` stores them. Each finishing transition of a child (completed,
   * dead, cancelled: by `complete`, `fail`, `release`, `rescue` or `cancel`) counts down its
   * parent in the same transaction as its own change of state; the count reaching 0 makes the
   * parent available, exactly once (a write guarded by `state = 'waiting'`). A child ending
   * dead or cancelled under a parent whose `onChildFailure` is `fail` ends the parent dead
   * instead, and cancels the parent's other pending descendants. `cancel` of a waiting parent
   * cancels it and its pending descendants. `prune` keeps a finished child while its parent
   * waits. `rescue` also repairs any waiting parent whose children have all finished.
   */
  enqueueFlow?(root: NewFlowNode, options?: EnqueueStorageOptions): Promise<FlowIds>;

  /**
   * Optional (batches): stores `jobs` (no unique keys) and their batch in one transaction.
   * Each job's finishing transition adds it to the batch's counts in its own transaction; the
   * transition that makes a callback due (`dueCallbacks`) stores it (`callbackJob`) in that
   * same transaction, behind a guarded flag, so each callback is stored exactly once.
   */
  enqueueBatch?(jobs: NewJob[], batch: NewBatch, options?: EnqueueStorageOptions): Promise<BatchResult>;

  /** Optional (batches): the batch's counts, or null. */
  getBatch?(id: string): Promise<BatchInfo | null>;

  /** Optional (flows): the children of `parentId`, by id. */
  children?(parentId: string): Promise<JobRecord[]>;

  /**
   * Optional: stores one job that has no unique key and is due now already claimed by
   * `workerId` (running, attempt 1, leased as `claim` would), in one round trip instead of an
   * INSERT and then a claim; the instance that enqueues it starts it at once. When the queue
   * is paused the job is stored `available` and `claimed` is null. Never inside a caller's
   * transaction (its rows are invisible until commit).
   */
  enqueueClaimed?(job: NewJob, workerId: string, leaseMs: number): Promise<ClaimedEnqueue>;

  /**
   * Atomically moves up to `limit` due jobs of `queue` (pending, `runAt <= now`, queue not
   * paused) to `running`, ordered by priority (lower first), then `runAt`, then `id`;
   * increments `attempt`, sets `lockedBy` and `lockedUntil = now + leaseMs`.
   *
   * The first `startNow` of them in that order (default: all) start at once: the claim
   * records their start, so a crash counts their attempt. The rest are `prefetched` (for the
   * worker's buffer): their start is recorded by `heartbeat(…, started)`, and until then a
   * lease that expires gives their attempt back. A prefetched job that is `rescuedUnstarted`
   * must not start before that record is written (the worker reports it first).
   */
  claim(queue: string, workerId: string, limit: number, leaseMs: number, startNow?: number): Promise<JobRecord[]>;

  /** Marks running jobs completed. Returns the ids that were still held by `workerId`. */
  complete(items: CompleteItem[]): Promise<string[]>;

  /**
   * Records failures: `retryDelayMs` set → `retryable` with `runAt = now + retryDelayMs`;
   * `retryDelayMs === null` → `dead`. `cancelled: true` → `cancelled` (the handler stopped
   * after a cancel). Returns the ids that were still held.
   */
  fail(items: FailItem[]): Promise<string[]>;

  /**
   * Hands jobs back without counting the attempt, whether they started or not (prefetched
   * jobs that never started; jobs interrupted by shutdown; snoozed schedule rows):
   * `available` now, or `scheduled` at `runAt` when given (a recurring schedule's row waiting
   * for its next tick); a `runAt` already past is still stored, and the job is `available`.
   * `options.interrupted`: a shutdown cut the run short, and each job's `interruptions` count
   * goes up by one. Returns the ids that were still held.
   */
  release(ids: string[], workerId: string, runAt?: Date, options?: ReleaseOptions): Promise<string[]>;

  /**
   * Optional: hands the running job `id` back to wait until `runAt` (as `release` with a
   * `runAt`) and stores `jobs` (as `enqueue`), atomically: both or neither. Null, with nothing
   * stored, when `workerId` no longer holds `id`. When its cancellation was requested while it
   * ran, `id` ends `cancelled` (as `release` does) and none of `jobs` is stored: the result is
   * empty. A recurring schedule's row fires its tick with it, so no crash can leave the tick's
   * job stored and the row still waiting to fire that tick again, and an `unschedule()` that
   * came while the tick ran (a cancel of the row) stops it before it stores that tick's job.
   * Without it, the scheduler enqueues and then releases (not crash-safe).
   */
  snoozeWith?(id: string, workerId: string, runAt: Date, jobs: NewJob[]): Promise<EnqueueResult[] | null>;

  /**
   * Extends the leases of jobs `workerId` holds, and records the start of those in `started`
   * (ids among `ids` whose handlers started since they were claimed `prefetched`: they are
   * no longer). Returns the ids no longer held (lost) and those whose cancellation was
   * requested.
   */
  heartbeat(ids: string[], workerId: string, leaseMs: number, started?: string[]): Promise<HeartbeatResult>;

  /**
   * Jobs whose lease expired (their worker died) go back to `available`, or to `dead` when
   * out of attempts. A job that was still `prefetched` (no start recorded: it never ran) is
   * given its attempt back instead, is never made dead for it, and becomes
   * `rescuedUnstarted`. Idempotent; any node may run it. Returns how many jobs it moved.
   */
  rescue(limit?: number): Promise<number>;

  /** Stores handler progress (0..100) of a running job. */
  progress(id: string, workerId: string, percent: number, data?: string | null): Promise<void>;

  get(id: string): Promise<JobRecord | null>;
  /** The job that holds `uniqueKey` now (see `NewJob.uniqueWhile` and `uniqueTtlMs`), or null. */
  findByUniqueKey(uniqueKey: string): Promise<JobRecord | null>;
  list(filter: ListFilter): Promise<ListPage>;
  /**
   * Pending jobs become `cancelled`; a running job gets `cancelRequested` (its worker aborts
   * it at the next heartbeat or wake-up). Returns the job after the change, or null.
   */
  cancel(id: string): Promise<JobRecord | null>;
  /**
   * A job waiting for its `runAt` (scheduled, retryable, or available and due later) becomes
   * due now: `available`, `runAt` = now; its attempts stay as they are. Any other job is
   * returned unchanged. Null when there is no such job.
   */
  runNow(id: string): Promise<JobRecord | null>;
  /**
   * A finished job (dead, cancelled or completed) back to `available` with fresh attempts (and
   * no interruptions); a job in any other state is returned unchanged. Null when there is no
   * such job.
   *
   * A flow parent that ended while it waited for its children (dead because a child failed
   * under `onChildFailure: 'fail'`, or cancelled), and whose children have not all
   * completed, never runs behind their back: in one transaction it goes back to `waiting`
   * (fresh attempts), its dead and cancelled children are retried as above (a child that is
   * itself such a parent waits again the same way, level by level), and it runs once every
   * child has completed, as a new flow's parent would; a child that fails again ends it dead
   * again. Its completed children stay completed and count as done; a child still pending or
   * running (a cancellation requested when the parent ended included) counts with the outcome
   * it reaches. Each child counts into the parent once, when it finishes. A parent that ran
   * (its own handler failed) is retried as any job.
   */
  retry(id: string): Promise<JobRecord | null>;
  stats(): Promise<QueueStats[]>;
  /**
   * Completed and died jobs per queue and minute over the last hour, oldest first, from the
   * same roll-up counters as `stats()` (so cluster-wide, and kept after the jobs are pruned).
   * Minutes are buckets on the storage's clock; minutes with nothing are left out.
   */
  throughput(): Promise<ThroughputMinute[]>;

  /**
   * For each of `queues` that has a due waiting job (`available`, or `scheduled`/`retryable`
   * with its `runAt` passed, on the storage's clock), how long the oldest of them has been due:
   * the storage's `now()` minus that job's `runAt`. Queues without one are left out. Served by
   * the claim index in a few probes per queue (one per distinct priority waiting there), so it
   * stays cheap however long the backlog.
   */
  oldestAvailable(queues: string[]): Promise<OldestAvailable[]>;
  /**
   * Optional (storages that keep roll-up counters): recomputes the state counts (available,
   * scheduled, running, dead, and waiting: flow parents) from the jobs themselves and corrects
   * the stored counters, safely beside concurrent writers; for counts skewed by writers that
   * did not record their changes (an older version during a rolling upgrade, a manual SQL
   * edit). The `completed`/`died` history is not recomputed (its rows may be pruned). Returns
   * how many counts were off.
   */
  recount?(): Promise<number>;
  pause(queue: string): Promise<void>;
  resume(queue: string): Promise<void>;

  /**
   * Stores `queue`'s cluster-wide limits (see `QueueLimits`), replacing the stored ones; `{}`
   * removes them. Claims of the queue on every instance follow them within about a second
   * (the storage's cached list of limited queues); a queue that has never had limits (nor a
   * block) claims exactly as it would without this feature.
   */
  setLimits(queue: string, limits: QueueLimits): Promise<void>;
  /**
   * Optional: whether `queue` had limits (or a block) when this process last looked, without a
   * round trip. A runner whose claim of such a queue came back short claims again as soon as one
   * of its jobs finishes (the limits, not the queue, may have cut the claim).
   */
  isLimited?(queue: string): boolean;
  /**
   * Optional (storages with queue limits; without it a `globalConcurrency` is not kept):
   * `workerId`'s hold on `queue`'s slots under its `globalConcurrency` (see `core/slots.ts`),
   * granted under the same lock as the queue's limited claims, out of what the other workers'
   * live holds leave, with a lease of `request.leaseMs`. The hold stored is the grant or
   * `request.keep`, whichever is more; want and keep 0 delete it. Null when the queue has no
   * global concurrency (a storage may answer that from a cache of about a second).
   */
  holdSlots?(queue: string, workerId: string, request: SlotRequest): Promise<SlotGrant | null>;
  /** Every queue with stored limits or a block. */
  limits(): Promise<StoredQueueLimits[]>;
  /**
   * `queue` (or, with `group`, that group of it) starts no job for `ms` on any instance (from
   * the storage's clock); a later block only lengthens it. Its claims count the block as a limit.
   */
  blockQueue(queue: string, ms: number, group?: string | null): Promise<void>;
  pausedQueues(): Promise<string[]>;
  /** Deletes jobs in `states` finished before `olderThan`, in bounded batches. */
  prune(options: PruneOptions): Promise<number>;

  /** The storage's clock, in epoch milliseconds (the database's `now()`). */
  now(): Promise<number>;

  /**
   * Optional push of "new work may be due in this queue" (PostgreSQL LISTEN/NOTIFY; SQLite
   * looks at the file for other processes' commits every few ms): a queue
   * name (due now), or `{ queue, inMs }` (a job stored there falls due that long from now; see
   * `Wakeup`). Without it, workers poll.
   */
  wakeups?(): Observable<Wakeup>;

  /**
   * Optional push of "cancellation was requested for running job <id>" (PostgreSQL
   * NOTIFY), so the instance running it aborts it at once rather than at its next heartbeat.
   */
  cancellations?(): Observable<string>;

  /**
   * Optional (TypeORM storages): runs `work(manager)` inside one transaction that also marks
   * the job completed (guarded by `workerId`), so the handler's writes and the completion
   * commit together or not at all. When the lease was lost the transaction rolls back and
   * `held` is false. `toResult` turns the handler's value into the stored JSON text.
   */
  completeWithin?<T>(
    id: string,
    workerId: string,
    work: (manager: unknown) => Promise<T>,
    toResult: (value: T) => string | null,
  ): Promise<{ held: boolean; value: T }>;
}
