import { randomUUID } from 'node:crypto';
import { Subject } from 'rxjs';
import { AckBatcher } from '../core/ack-batcher.js';
import type { EngineLogger } from '../core/engine-options.js';
import type { FakeClock } from '../core/fake-clock.js';
import { JobExecutor } from '../core/job-executor.js';
import type { JobEvent } from '../core/job-events.js';
import { PENDING_STATES, type JobRecord } from '../core/job-record.js';
import { newRun, SETTLED } from '../core/job-run.js';
import type { JobsRuntime } from '../core/jobs-runtime.js';
import { JobFailedError } from '../errors/job-failed.error.js';
import { CapturingRegistry } from './capturing-registry.js';
import { limitReached } from './jobs-testing.messages.js';

export interface DrainResult {
  completed: number;
  retried: number;
  dead: number;
  cancelled: number;
}

export interface RunScope {
  /** Queues to run; undefined: every queue that has jobs or handlers. */
  queue?: string;
  /** Only these job ids run (and retries of them); undefined: every job, including those enqueued meanwhile. */
  ids?: ReadonlySet<string>;
  /** Move the fake clock to run delayed jobs and retries. */
  scheduled: boolean;
  /** Most job runs; past it the run stops. */
  limit: number;
  /** Throw rather than stop at the limit while work is left (the default safety cap). */
  throwAtLimit: boolean;
}

/** Jobs claimed at once when looking for the next job in scope (the rest are handed back at once). */
const CLAIM_BATCH = 1000;
/** Outcome events: the run of that job is over. */
const OUTCOMES = new Set(['completed', 'retrying', 'dead', 'cancelled', 'lease-lost', 'released']);

/**
 * Runs stored jobs in the test's own time, one at a time, through the storage contract and the
 * engine's own `JobExecutor` (timeouts, retries with backoff, death, `transaction: true`), as a
 * worker of its own: claim, run, record the outcome. Used by `JobsTester.drain()` and by the
 * inline mode. Nothing runs in the background: no poll, no heartbeat, no timer.
 */
export class TestJobRunner {
  readonly workerId = `test-${randomUUID()}`;
  private readonly acks: AckBatcher;
  private readonly executor: JobExecutor;
  private readonly events = new Subject<JobEvent>();
  private readonly counts: DrainResult = { completed: 0, retried: 0, dead: 0, cancelled: 0 };
  /** What each job's handler last threw (for inline mode's rejection). */
  private readonly thrown = new Map<string, unknown>();
  private readonly waiting = new Map<string, () => void>();
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly runtime: JobsRuntime,
    private readonly clock: FakeClock,
    logger: EngineLogger,
  ) {
    const { storage, settings } = runtime;
    this.acks = new AckBatcher(storage, settings.ackBatchSize, logger);
    this.events.subscribe((event) => this.onEvent(event));
    const deps = {
      storage, clock, logger, settings, acks: this.acks, events: this.events, workerId: this.workerId,
      registry: new CapturingRegistry(runtime.registry, this.thrown),
    };
    this.executor = new JobExecutor(deps, { free: () => undefined, wakeAt: () => undefined, finished: () => undefined });
  }

  /** Runs the jobs in scope until none is due (with `scheduled`, none is left waiting); the outcomes counted. */
  async run(scope: RunScope): Promise<DrainResult> {
    const before = { ...this.counts };
    let runs = 0;
    for (;;) {
      const ran = await this.pass(scope, scope.limit - runs);
      runs += ran;
      if (runs >= scope.limit) {
        if (scope.throwAtLimit && (await this.workLeft(scope))) {
          throw new Error(limitReached(runs));
        }
        break;
      }
      if (ran > 0) continue;
      if (!scope.scheduled || !(await this.moveToNextDue(scope))) break;
    }
    return {
      completed: this.counts.completed - before.completed,
      retried: this.counts.retried - before.retried,
      dead: this.counts.dead - before.dead,
      cancelled: this.counts.cancelled - before.cancelled,
    };
  }

  /**
   * The error an inline enqueue rejects with when its job ended dead or cancelled: what the
   * handler threw last, else (a timeout, an unknown job) the stored error as a `JobFailedError`.
   */
  finalError(job: JobRecord): unknown {
    const thrown = this.thrown.get(job.id);
    this.thrown.delete(job.id);
    return thrown ?? new JobFailedError(job.id, job.state, job.lastError);
  }

  /** Resolves once every outcome is written (shutdown). */
  async settle(): Promise<void> {
    while (this.inFlight.size) await Promise.all(this.inFlight);
    await this.acks.drain();
  }

  /** Ids of the jobs waiting (due or not) in `queue`, or in every queue. */
  async pendingIds(queue?: string): Promise<Set<string>> {
    return new Set((await this.pendingJobs(queue)).map((j) => j.id));
  }

  /** The jobs waiting to run (scheduled, available, retryable) in `queue` or every queue, oldest first. */
  async pendingJobs(queue?: string): Promise<JobRecord[]> {
    const jobs: JobRecord[] = [];
    for (const state of PENDING_STATES) {
      let cursor: string | null = null;
      do {
        const page = await this.runtime.storage.list({ queue, state, limit: 1000, cursor });
        jobs.push(...page.jobs);
        cursor = page.nextCursor;
      } while (cursor !== null);
    }
    return jobs.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || compareIds(a.id, b.id));
  }

  /** The module's own rows (recurring schedules), not the app's jobs. */
  isInternal(job: JobRecord): boolean {
    return this.runtime.registry.get(job.name)?.internal === true;
  }

  /** One sweep over the queues: runs due jobs in scope, at most `budget`. */
  private async pass(scope: RunScope, budget: number): Promise<number> {
    let ran = 0;
    for (const queue of await this.queues(scope)) {
      while (ran < budget) {
        const job = await this.claimNext(queue, scope.ids);
        if (!job) break;
        await this.execute(job);
        ran++;
      }
    }
    return ran;
  }

  private async queues(scope: RunScope): Promise<string[]> {
    if (scope.queue !== undefined) return [scope.queue];
    const stats = await this.runtime.storage.stats();
    return [...new Set([...stats.map((s) => s.queue), ...this.runtime.registry.queues(), ...Object.keys(this.runtime.settings.queues)])];
  }

  /** Claims the next due job of `queue` in scope; every other claimed job is handed back at once, its attempt not counted. */
  private async claimNext(queue: string, ids: ReadonlySet<string> | undefined): Promise<JobRecord | null> {
    const { storage, settings } = this.runtime;
    const claimed = await storage.claim(queue, this.workerId, ids ? CLAIM_BATCH : 1, settings.leaseMs);
    const next = claimed.find((j) => !ids || ids.has(j.id)) ?? null;
    const others = claimed.filter((j) => j !== next).map((j) => j.id);
    if (others.length) await storage.release(others, this.workerId);
    return next;
  }

  /** Runs one claimed job and waits until its outcome is written. */
  private async execute(record: JobRecord): Promise<void> {
    const internal = this.isInternal(record);
    const outcome = internal ? SETTLED : new Promise<void>((resolve) => this.waiting.set(record.id, resolve));
    const run = newRun(record, true);
    const done = Promise.all([this.executor.execute(run), outcome]).then(() => undefined);
    this.inFlight.add(done);
    try {
      await done;
    } finally {
      this.inFlight.delete(done);
    }
  }

  /** The earliest due time of a waiting job in scope, or null when none waits. */
  private async nextWaiting(scope: RunScope): Promise<number | null> {
    return (await this.nextWaitingJobs(scope))?.at ?? null;
  }

  /** The waiting jobs in scope with the earliest due time, and that time; null when none waits. */
  private async nextWaitingJobs(scope: RunScope): Promise<{ at: number; ids: string[] } | null> {
    let next: { at: number; ids: string[] } | null = null;
    for (const queue of await this.queues(scope)) {
      for (const job of await this.pendingJobs(queue)) {
        // A recurring schedule's own row always waits for its next tick: it never moves the clock.
        if ((scope.ids && !scope.ids.has(job.id)) || this.isInternal(job)) continue;
        const at = job.runAt.getTime();
        if (next === null || at < next.at) next = { at, ids: [job.id] };
        else if (at === next.at) next.ids.push(job.id);
      }
    }
    return next;
  }

  /** Jobs in scope are still due (with `scheduled`: still waiting at all). */
  private async workLeft(scope: RunScope): Promise<boolean> {
    const next = await this.nextWaiting(scope);
    return next !== null && (scope.scheduled || next <= (await this.runtime.storage.now()));
  }

  /**
   * Moves the fake clock as far as the next delayed job or retry in scope waits; false when none
   * waits for a future time. A storage that keeps its own clock (a database) does not follow the
   * fake one: the jobs due then are made due now instead (`Storage.runNow`, attempts kept).
   */
  private async moveToNextDue(scope: RunScope): Promise<boolean> {
    const next = await this.nextWaitingJobs(scope);
    if (next === null) return false;
    const { storage } = this.runtime;
    const now = await storage.now();
    // Due but not claimed: its queue is paused (or another worker holds it).
    if (next.at <= now) return false;
    // As far as the job waits on the storage's clock (the fake one's own time, on memory).
    await this.clock.advance(next.at - now);
    if ((await storage.now()) < next.at) {
      for (const id of next.ids) await storage.runNow(id);
    }
    return true;
  }

  private onEvent(event: JobEvent): void {
    if (event.type === 'completed') this.counts.completed++;
    else if (event.type === 'retrying') this.counts.retried++;
    else if (event.type === 'dead') this.counts.dead++;
    else if (event.type === 'cancelled') this.counts.cancelled++;
    if (event.type === 'completed') this.thrown.delete(event.jobId);
    if (OUTCOMES.has(event.type)) {
      this.waiting.get(event.jobId)?.();
      this.waiting.delete(event.jobId);
    }
    this.runtime.events.next(event);
  }
}

function compareIds(a: string, b: string): number {
  return /^\d+$/.test(a) && /^\d+$/.test(b) ? Number(a) - Number(b) : a < b ? -1 : a > b ? 1 : 0;
}
