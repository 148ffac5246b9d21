import { Subject, type Observable } from 'rxjs';
import { JobNotFoundError } from '../errors/job-not-found.error.js';
import type { Clock } from './clock.js';
import type { EngineLogger } from './engine-options.js';
import { Engine } from './engine.js';
import { HandlerRegistry } from './handler-registry.js';
import { JobClient } from './job-client.js';
import { NO_LOCAL_WORKERS } from './local-workers.js';
import { MiddlewareChain } from './middleware.js';
import type { JobEvent } from './job-events.js';
import type { JobRecord } from './job-record.js';
import { waitForJob } from './job-waiter.js';
import type { QueueLimits } from './limits.js';
import { QueueLimitsControl } from './queue-limits.js';
import { Scheduler, type EveryOptions, type ScheduleInfo } from './scheduler.js';
import {
  LIST_FILTER_KEYS,
  type ListFilter,
  type ListPage,
  type OldestAvailable,
  type QueueStats,
  type Storage,
  type ThroughputMinute,
} from './storage.js';
import type { WorkerStatus } from './worker-status.js';
import { assertKnownKeys, knownKeys } from './known-keys.js';
import type { RuntimeSettings } from './settings.js';
import { assertInt, assertName } from './validation.js';
import { InvalidOptionsError } from '../errors/invalid-options.error.js';
import { JOB_STATES, type BatchInfo, type FlowTree, type JobState } from './job-record.js';
import { readFlow } from './flow-builder.js';

function assertState(state: unknown): JobState {
  if (!JOB_STATES.includes(state as JobState)) {
    throw new InvalidOptionsError('state', `expected one of ${JOB_STATES.join(', ')}, got ${String(state)}`);
  }
  return state as JobState;
}

export interface WaitForOptions {
  timeoutMs?: number;
}

export interface PruneRequest {
  olderThan: Date;
  states?: JobState[];
  /** Only jobs of this queue (default: every queue). */
  queue?: string;
}

export interface RetryAllFilter {
  queue?: string;
  state?: 'dead' | 'cancelled';
}

const WAIT_FOR_KEYS = knownKeys<WaitForOptions>({ timeoutMs: true });
const PRUNE_KEYS = knownKeys<PruneRequest>({ olderThan: true, states: true, queue: true });
const RETRY_ALL_KEYS = knownKeys<RetryAllFilter>({ queue: true, state: true });

/**
 * One instance's jobs machinery, framework-free: the storage, the handler registry, the
 * producer and (when this instance runs workers) the engine. The Nest layer wires it up.
 */
export class JobsRuntime {
  readonly registry = new HandlerRegistry();
  readonly events = new Subject<JobEvent>();
  readonly client: JobClient;
  readonly engine: Engine | null;
  readonly scheduler: Scheduler;
  /** This instance's job middleware (`add` them before the first enqueue or claim). */
  readonly middleware = new MiddlewareChain();
  private readonly limits: QueueLimitsControl;

  constructor(
    readonly storage: Storage,
    readonly settings: RuntimeSettings,
    private readonly logger: EngineLogger,
    readonly clock: Clock,
  ) {
    this.engine = settings.workers
      ? new Engine({ storage, registry: this.registry, settings, logger, events: this.events, clock, middleware: this.middleware })
      : null;
    this.client = new JobClient({
      storage,
      registry: this.registry,
      settings: { requireKnownJobs: settings.workers, maxPayloadBytes: settings.maxPayloadBytes, maxRetries: settings.maxRetries },
      events: this.events,
      clock,
      local: this.engine ?? NO_LOCAL_WORKERS,
      logger,
      middleware: this.middleware,
    });
    this.scheduler = new Scheduler(storage, this.client, this.registry, logger);
    this.limits = new QueueLimitsControl(storage, logger);
  }

  get events$(): Observable<JobEvent> {
    return this.events.asObservable();
  }

  /** Stores declared schedules' rows and starts the workers. */
  async start(): Promise<void> {
    await this.checkClockDrift();
    await this.limits.applyConfigured(this.settings.queues);
    if (!this.engine) return;
    await this.scheduler.registerDeclared();
    this.engine.start();
  }

  /** Due times and leases follow the storage's clock; a node far off it only confuses logs and delays. */
  private async checkClockDrift(): Promise<void> {
    const drift = (await this.storage.now()) - this.clock.now();
    if (Math.abs(drift) > 2_000) {
      this.logger.warn(`This instance's clock is ${drift} ms off the job storage's clock; times are taken from the storage. Check NTP.`);
    }
  }

  /** Stops claiming and drains running jobs (shutdown, step one). */
  async stop(): Promise<void> {
    await this.engine?.stop();
  }

  /** Closes the storage (shutdown, step two). */
  async close(): Promise<void> {
    await this.storage.close();
    this.events.complete();
  }

  getJob(id: string): Promise<JobRecord | null> {
    return this.storage.get(String(id));
  }

  /** The batch's counts, or null when there is no such batch (or the storage keeps none). */
  async getBatch(id: string): Promise<BatchInfo | null> {
    return this.storage.getBatch ? this.storage.getBatch(String(id)) : null;
  }

  /** The flow under `id` with each job's state, or null when there is no such job. */
  getFlow(id: string): Promise<FlowTree | null> {
    return readFlow(this.storage, String(id));
  }

  async cancel(id: string): Promise<JobRecord> {
    const before = await this.storage.get(String(id));
    const job = await this.storage.cancel(String(id));
    if (!job) throw new JobNotFoundError(String(id));
    if (job.state === 'running') this.engine?.wake(job.queue);
    // A waiting job is cancelled right here (a running one by its worker, which emits the event).
    if (job.state === 'cancelled' && before?.state !== 'cancelled') {
      this.events.next({ type: 'cancelled', jobId: job.id, name: job.name, queue: job.queue, attempt: job.attempt, at: this.clock.now() });
    }
    return job;
  }

  async runNow(id: string): Promise<JobRecord> {
    const job = await this.storage.runNow(String(id));
    if (!job) throw new JobNotFoundError(String(id));
    if (job.state === 'available') this.engine?.wake(job.queue);
    return job;
  }

  async retry(id: string): Promise<JobRecord> {
    const job = await this.storage.retry(String(id));
    if (!job) throw new JobNotFoundError(String(id));
    this.engine?.wake(job.queue);
    return job;
  }

  async stats(): Promise<QueueStats[]> {
    return this.limits.withLimits(await this.storage.stats());
  }

  /** See `QueueService.setLimits`. */
  async setLimits(queue: string, limits: QueueLimits): Promise<void> {
    await this.limits.set(queue, limits);
    this.engine?.wake(queue);
  }

  getLimits(queue: string): Promise<QueueLimits> {
    return this.limits.get(queue);
  }

  throughput(): Promise<ThroughputMinute[]> {
    return this.storage.throughput();
  }

  /** See `Storage.oldestAvailable`; `queues` default to those `stats()` lists. */
  async oldestAvailable(queues?: string[]): Promise<OldestAvailable[]> {
    if (queues !== undefined && !Array.isArray(queues)) throw new InvalidOptionsError('queues', 'expected an array of queue names');
    const names = queues ? queues.map((q) => assertName('queue name', q)) : (await this.storage.stats()).map((s) => s.queue);
    return this.storage.oldestAvailable(names);
  }

  workerStatus(): WorkerStatus {
    return this.engine?.status() ?? { state: 'disabled', workerId: null, heartbeatAgeMs: null, leaseMs: this.settings.leaseMs, queues: {} };
  }

  /** Repairs the stored state counts from the jobs (see `Storage.recount`); 0 when the storage keeps none. */
  async recount(): Promise<number> {
    return this.storage.recount ? this.storage.recount() : 0;
  }

  /** Resolves with the job's result when it completes; rejects with `JobFailedError` when it ends dead or cancelled. */
  async waitFor(id: string, options: WaitForOptions = {}): Promise<unknown> {
    assertKnownKeys(options, WAIT_FOR_KEYS, 'waitFor options');
    const timeoutMs = options.timeoutMs === undefined ? 60_000 : assertInt('timeoutMs', options.timeoutMs, 1, 2 ** 31 - 1);
    return waitForJob(this.storage, this.events, String(id), timeoutMs);
  }

  async pause(queue: string): Promise<void> {
    await this.storage.pause(assertName('queue name', queue));
  }

  async resume(queue: string): Promise<void> {
    await this.storage.resume(assertName('queue name', queue));
    this.engine?.wake(queue);
  }

  async list(filter: ListFilter = {}): Promise<ListPage> {
    assertKnownKeys(filter, LIST_FILTER_KEYS, 'list filter');
    if (filter.queue !== undefined) assertName('queue name', filter.queue);
    if (filter.name !== undefined) assertName('job name', filter.name);
    if (filter.state !== undefined) assertState(filter.state);
    for (const key of ['parentId', 'batchId'] as const) {
      if (filter[key] !== undefined && !/^\d{1,20}$/.test(String(filter[key]))) throw new InvalidOptionsError(key, 'expected a job or batch id (decimal digits)');
    }
    if (filter.cursor != null && !/^\d{1,20}$/.test(String(filter.cursor))) {
      throw new InvalidOptionsError('cursor', 'not a cursor returned by list()');
    }
    const limit = filter.limit === undefined ? 50 : assertInt('limit', filter.limit, 1, 1000);
    return this.storage.list({ ...filter, limit });
  }

  /** Deletes finished jobs (completed, dead, cancelled) older than `olderThan`. */
  async prune(options: PruneRequest): Promise<number> {
    assertKnownKeys(options, PRUNE_KEYS, 'prune options');
    if (!(options?.olderThan instanceof Date) || Number.isNaN(options.olderThan.getTime())) {
      throw new InvalidOptionsError('olderThan', 'expected a valid Date');
    }
    const states = options.states ?? ['completed', 'dead', 'cancelled'];
    for (const st of states) {
      assertState(st);
      if (st !== 'completed' && st !== 'dead' && st !== 'cancelled') {
        throw new InvalidOptionsError('states', `only finished jobs can be pruned (completed, dead, cancelled), not '${st}'`);
      }
    }
    const queue = options.queue === undefined ? {} : { queue: assertName('queue name', options.queue) };
    return this.storage.prune({ olderThan: options.olderThan, states, ...queue });
  }

  /** Retries every job of `queue` (or of all queues) in `state` (default `dead`). Returns how many. */
  async retryAll(filter: RetryAllFilter = {}): Promise<number> {
    assertKnownKeys(filter, RETRY_ALL_KEYS, 'retryAll filter');
    const state = filter.state ?? 'dead';
    if (state !== 'dead' && state !== 'cancelled') throw new InvalidOptionsError('state', "expected 'dead' or 'cancelled'");
    let count = 0;
    for (;;) {
      const page = await this.list({ queue: filter.queue, state, limit: 500 });
      let moved = 0;
      for (const job of page.jobs) {
        const state = (await this.storage.retry(job.id))?.state;
        // 'waiting': a flow parent that waits again for its retried children.
        if (state === 'available' || state === 'waiting') moved++;
      }
      count += moved;
      if (!moved) return count;
      this.engine?.wake(filter.queue);
    }
  }

  async every(name: string, payload: unknown, options: EveryOptions): Promise<{ key: string }> {
    return this.scheduler.every(assertName('job name', name), payload, options);
  }

  schedules(): Promise<ScheduleInfo[]> {
    return this.scheduler.list();
  }

  unschedule(key: string): Promise<boolean> {
    return this.scheduler.unschedule(key);
  }

  /**
   * Resolves when nothing is due or running (in `queue`, or anywhere) and this instance
   * holds no unfinished work. Jobs waiting for a future `runAt` do not count.
   */
  async onIdle(queue?: string, pollMs = 10): Promise<void> {
    for (;;) {
      if (!this.engine || this.engine.isLocallyIdle(queue)) {
        const stats = await this.storage.stats();
        const busy = stats.some((s) => (queue === undefined || s.queue === queue) && (s.available > 0 || s.running > 0));
        if (!busy && (!this.engine || this.engine.isLocallyIdle(queue))) return;
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }
}
