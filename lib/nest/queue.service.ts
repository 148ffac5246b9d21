import { Inject, Injectable } from '@nestjs/common';
import type { Observable } from 'rxjs';
import type { BulkJob, EnqueueOptions } from '../core/enqueue-options.js';
import type { JobEvent } from '../core/job-events.js';
import type { BatchInfo, BatchResult, EnqueueResult, FlowIds, FlowTree, JobRecord, JobState } from '../core/job-record.js';
import type { BatchOptions } from '../core/batch-builder.js';
import type { FlowNode } from '../core/flow-builder.js';
import type { JobToken } from '../core/job-token.js';
import type { JobsRuntime } from '../core/jobs-runtime.js';
import type { QueueLimits } from '../core/limits.js';
import type { ListFilter, ListPage, OldestAvailable, QueueStats, ThroughputMinute } from '../core/storage.js';
import type { WorkerStatus } from '../core/worker-status.js';
import type { EveryOptions, ScheduleInfo } from '../core/scheduler.js';
import { assertName } from '../core/validation.js';
import { JOBS_RUNTIME } from './jobs.constants.js';

/** Enqueue jobs and look after them. Inject it anywhere once `JobsModule.forRoot()` is imported. */
@Injectable()
export class QueueService {
  constructor(@Inject(JOBS_RUNTIME) private readonly runtime: JobsRuntime) {}

  /** Stores one job (validated first: name, payload, options). Resolves once it is stored. */
  enqueue<T>(nameOrToken: string | JobToken<T>, payload: T, options?: EnqueueOptions): Promise<EnqueueResult> {
    return this.runtime.client.enqueue(nameOrToken as string | JobToken<unknown>, payload, options);
  }

  /** Stores many jobs in one round trip; every job is validated before any is stored. */
  enqueueMany(jobs: BulkJob[], options?: { manager?: unknown }): Promise<EnqueueResult[]> {
    return this.runtime.client.enqueueMany(jobs, options);
  }

  /**
   * Stores a flow: a tree of jobs in which each parent waits (state `waiting`) until all its
   * children have finished, then runs (its handler reads them with `ctx.children()`). One
   * transaction, also the caller's with `{ manager }`. Resolves with the tree of ids.
   */
  flow(root: FlowNode, options?: { manager?: unknown }): Promise<FlowIds> {
    return this.runtime.client.flow(root, options);
  }

  /** The flow under `id` (its root or any job in it), with each job's record; null when there is no such job. */
  getFlow(id: string): Promise<FlowTree | null> {
    return this.runtime.getFlow(id);
  }

  /**
   * Stores many jobs (as `enqueueMany`) as one batch, in one transaction, and enqueues each
   * callback exactly once when it falls due, with `{ batchId, payload, counts }`: `onComplete`
   * when every job has finished, `onSuccess` when all completed, `onFailure` when the first
   * ends dead.
   */
  batch(jobs: BulkJob[], options?: BatchOptions): Promise<BatchResult> {
    return this.runtime.client.batch(jobs, options);
  }

  /** The batch's counts (finished jobs by outcome, stored jobs by state) and which callbacks fired; null when there is no such batch. */
  getBatch(id: string): Promise<BatchInfo | null> {
    return this.runtime.getBatch(id);
  }

  /** The job, or null when no job has this id. */
  getJob(id: string): Promise<JobRecord | null> {
    return this.runtime.getJob(id);
  }

  /** A waiting job never runs; a running one has its `ctx.signal` aborted and ends `cancelled`. */
  cancel(id: string): Promise<JobRecord> {
    return this.runtime.cancel(id);
  }

  /**
   * A job waiting for its run time (scheduled, or a retry waiting out its backoff) is due now;
   * its attempts are unchanged. A job in any other state is returned as it is.
   */
  runNow(id: string): Promise<JobRecord> {
    return this.runtime.runNow(id);
  }

  /**
   * A dead, cancelled or completed job goes back to `available` with fresh attempts.
   *
   * A flow parent that died because a child failed (`onChildFailure: 'fail'`), or was
   * cancelled while it waited, is never run with failed children: it goes back to `waiting`
   * (the job returned says so), its dead and cancelled children run again with fresh
   * attempts (nested parents resume the same way), and it runs once all its children have
   * completed; if a child fails again it ends dead again. Completed children are not run
   * again. See `Storage.retry`.
   */
  retry(id: string): Promise<JobRecord> {
    return this.runtime.retry(id);
  }

  /** Per queue: jobs waiting (available, scheduled), running and dead, cluster-wide, and completions and deaths by period. */
  stats(): Promise<QueueStats[]> {
    return this.runtime.stats();
  }

  /**
   * Completed and died jobs per minute over the last hour, oldest first, per queue (or of
   * `queue` only), from the stored roll-up counters: cluster-wide, and kept after pruning.
   */
  async throughput(queue?: string): Promise<ThroughputMinute[]> {
    if (queue !== undefined) assertName('queue name', queue);
    const rows = await this.runtime.throughput();
    return queue === undefined ? rows : rows.filter((r) => r.queue === queue);
  }

  /**
   * For each queue (default: every queue `stats()` lists) that has a due job waiting, when the
   * oldest of them fell due and how long it has waited (on the storage's clock). A few index
   * probes per queue, whatever the backlog.
   */
  oldestAvailable(queues?: string[]): Promise<OldestAvailable[]> {
    return this.runtime.oldestAvailable(queues);
  }

  /** This instance's workers: running or stopped, lease renewals, handlers running per queue. Reads memory only. */
  workerStatus(): WorkerStatus {
    return this.runtime.workerStatus();
  }

  /**
   * Recomputes the state counts of `stats()` (available, scheduled, running, dead, waiting) from the
   * jobs and repairs the stored counters, for counts skewed by writers that did not record
   * their changes (an older version during a rolling upgrade, a manual SQL edit). Safe while
   * the workers run; it reads the whole jobs table once. `completed`/`died` history is not
   * recomputed. Returns how many counts were off (0 on the memory storage, which counts jobs).
   */
  recount(): Promise<number> {
    return this.runtime.recount();
  }

  /** Lifecycle events of jobs on this instance. */
  get events$(): Observable<JobEvent> {
    return this.runtime.events$;
  }

  /**
   * Resolves with the job's result once it completes (on any instance); rejects with
   * `JobFailedError` when it ends dead or cancelled, `WaitTimeoutError` past `timeoutMs`
   * (default 60 s).
   */
  waitFor<T = unknown>(id: string, options?: { timeoutMs?: number }): Promise<T> {
    return this.runtime.waitFor(id, options) as Promise<T>;
  }

  /**
   * Stores `queue`'s cluster-wide limits (`globalConcurrency`, `rateLimit`), replacing the
   * stored ones (`{}` removes them). Every instance follows them within about a second.
   */
  setLimits(queue: string, limits: QueueLimits): Promise<void> {
    return this.runtime.setLimits(queue, limits);
  }

  /** `queue`'s stored limits (`{}` when it has none). */
  getLimits(queue: string): Promise<QueueLimits> {
    return this.runtime.getLimits(queue);
  }

  /** Every instance stops claiming from `queue` (within a poll interval); running jobs finish. */
  pause(queue: string): Promise<void> {
    return this.runtime.pause(queue);
  }

  resume(queue: string): Promise<void> {
    return this.runtime.resume(queue);
  }

  /** Jobs newest first, filtered; pass `nextCursor` back as `cursor` for the next page. */
  list(filter?: ListFilter): Promise<ListPage> {
    return this.runtime.list(filter);
  }

  /** Deletes finished jobs older than `olderThan` (default states: completed, dead, cancelled), of `queue` or all. Returns how many. */
  prune(options: { olderThan: Date; states?: JobState[]; queue?: string }): Promise<number> {
    return this.runtime.prune(options);
  }

  /** Retries every dead (or cancelled) job of `queue`, or of all queues. Returns how many. */
  retryAll(filter?: { queue?: string; state?: 'dead' | 'cancelled' }): Promise<number> {
    return this.runtime.retryAll(filter);
  }

  /**
   * Runs a job on a schedule, durable and once per tick across instances:
   * `{ every: 30_000 | '5m' }` or `{ cron: '0 3 * * *', timezone: 'Europe/Paris' }`; `key`
   * names it (default: the job name). Replaces a schedule with the same key.
   */
  every<T>(nameOrToken: string | JobToken<T>, payload: T, options: EveryOptions): Promise<{ key: string }> {
    return this.runtime.every(typeof nameOrToken === 'string' ? nameOrToken : nameOrToken.name, payload, options);
  }

  /** The stored recurring schedules, by key, with their next run. */
  schedules(): Promise<ScheduleInfo[]> {
    return this.runtime.schedules();
  }

  /** Stops the schedule `key`. True when there was one. */
  unschedule(key: string): Promise<boolean> {
    return this.runtime.unschedule(key);
  }

  /** Resolves when nothing is due or running (for tests and scripts). */
  onIdle(queue?: string): Promise<void> {
    return this.runtime.onIdle(queue);
  }
}
