import type { Subject } from 'rxjs';
import { JobCancelledError } from '../errors/job-cancelled.error.js';
import { JobInterruptedError } from '../errors/job-interrupted.error.js';
import { JobTimeoutError } from '../errors/job-timeout.error.js';
import { RateLimitedError } from '../errors/rate-limited.error.js';
import { UnknownJobError } from '../errors/unknown-job.error.js';
import { LeaseLostAbort, ShutdownAbort } from './abort-reasons.js';
import type { AckBatcher } from './ack-batcher.js';
import type { Clock } from './clock.js';
import { coerceError, errorInfo } from './coerce-error.js';
import { ENGINE_DEFAULTS, type EngineLogger, type EngineSettings } from './engine-options.js';
import type { HandlerRegistry } from './handler-registry.js';
import type { MiddlewareChain } from './middleware.js';
import { jobEvent, type JobEvent, type JobEventType } from './job-events.js';
import { isLinked, type JobRecord } from './job-record.js';
import { abortRun, Committed, handlerMs, isThenable, RunContext, SETTLED, toResultJson, type JobHandlerFn, type Outcome, type RunningJob } from './job-run.js';
import { completedBy } from './outcome-landed.js';
import { ProgressReporter } from './progress-reporter.js';
import { handBackRateLimited } from './rate-limited.js';
import { backoffDelayMs } from './retry-policy.js';
import { Snooze, Snoozed } from './snooze.js';
import type { FailItem, Storage } from './storage.js';

/** What a queue's runner and its executor share. */
export interface WorkerDeps {
  storage: Storage;
  registry: HandlerRegistry;
  clock: Clock;
  events: Subject<JobEvent>;
  acks: AckBatcher;
  logger: EngineLogger;
  settings: EngineSettings;
  workerId: string;
  /** Job middleware whose `process` hooks wrap each attempt. */
  middleware?: MiddlewareChain;
}

/** The runner side of an execution: the slot it holds, and the claims it schedules. */
export interface ExecutorHost {
  /** The job's slot is free: the next buffered job may start. */
  free(run: RunningJob): void;
  /** A retry falls due at `at`: claim then, if that is before the next poll. */
  wakeAt(at: number): void;
  /** A job of the queue finished and its outcome is written: a slot of a limited queue may be free again. */
  finished(): void;
}

/**
 * Runs one attempt of a job and records its outcome: the handler's call (inside the
 * storage's transaction for `@Job({ transaction: true })`), its timeout, the abort grace of a
 * handler that ignores its signal, then completion, retry with backoff, death, cancellation,
 * snooze or hand-back. One per queue runner; the runner decides what starts when.
 */
export class JobExecutor {
  /** Jobs whose handler ignored a timeout/cancel abort: slot freed, lease kept until it settles. */
  private readonly abandoned = new Map<string, JobRecord>();
  /** What the handlers' `ctx.progress()` reports to. */
  private readonly progress: ProgressReporter;

  constructor(
    private readonly deps: WorkerDeps,
    private readonly host: ExecutorHost,
  ) {
    this.progress = new ProgressReporter(deps, (record, progress, progressData) => this.emit('progress', record, { progress, progressData }));
  }

  /** Ids whose handler still runs past its abort grace (their leases are kept). */
  abandonedIds(): IterableIterator<string> {
    return this.abandoned.keys();
  }

  /**
   * Runs one job. Resolves as soon as the handler has settled, freeing the slot; the
   * outcome is written by the ack batcher in the background (its lease is renewed until
   * then, and shutdown drains it). Not an async function: the common path allocates the
   * handler's context, one promise and two callbacks, no suspended frame.
   */
  execute(run: RunningJob): Promise<void> {
    const { record } = run;
    const { registry, clock, settings, storage, workerId } = this.deps;
    const def = registry.get(record.name);
    if (!def) {
      void this.finishFailed(record, new UnknownJobError(record.name, registry.names()), 'failed');
      queueMicrotask(() => this.host.free(run));
      return SETTLED;
    }
    const timeoutMs = record.timeoutMs ?? def.timeoutMs ?? settings.timeoutMs;
    if (timeoutMs) {
      run.timer = clock.setTimeout(() => abortRun(run, new JobTimeoutError(record.name, timeoutMs)), timeoutMs);
    }
    run.startedAt = clock.now();
    this.emit('started', record);
    const handler = this.deps.middleware?.handlerOf(def) ?? def.handler;
    // `completeWithin` is the one place where a storage calls back into a handler: the handler
    // runs inside the storage's transaction, which also completes the job (see docs/ARCHITECTURE.md).
    const transactional = def.transactional && storage.completeWithin
      ? () =>
          storage.completeWithin!(
            record.id,
            workerId,
            (manager) => Promise.resolve(handler(record.payload, new RunContext(run, this.progress, manager), record)).then((value) => {
              // The guarded completion and the commit follow: from here that write decides.
              run.writing = true;
              return value;
            }),
            (v) => toResultJson(v, record, this.deps.logger),
          ).then(({ held, value }) => new Committed(held, value))
      : null;
    return this.runWithAbortGrace(run, transactional ?? handler, transactional ? undefined : new RunContext(run, this.progress)).then(
      (outcome) => this.settleAndFree(run, outcome),
    );
  }

  /**
   * Hands a job back to the queue without counting the attempt (shutdown). `interrupted`:
   * its handler ran and was cut short (counted in the job's `interruptions`); otherwise it never started.
   */
  async handBack(record: JobRecord, interrupted = false): Promise<void> {
    try {
      await this.deps.storage.release([record.id], this.deps.workerId, undefined, interrupted ? { interrupted } : undefined);
      this.emit('released', record);
    } catch (err) {
      this.deps.logger.warn(`Could not hand back job ${record.id}; it returns when its lease expires: ${coerceError(err).message}`);
    }
  }

  /**
   * Records a failure (a retry with backoff, or dead when out of attempts) or a cancellation.
   * `mayHaveCompleted`: the job's own transaction had done its work, so its commit may have
   * completed the job (the commit raised after landing, or the handler settled past its abort
   * grace and committed); if the job is no longer held, its row says whether that happened.
   * `interrupted`: the failure is a shutdown interruption past the cap (counted in `interruptions` too).
   * `durationMs`: how long the handler ran (reported in the outcome's event; absent when it never ran).
   */
  async finishFailed(
    record: JobRecord,
    error: Error,
    kind: 'failed' | 'cancelled',
    { mayHaveCompleted = false, interrupted = false, durationMs }: { mayHaveCompleted?: boolean; interrupted?: boolean; durationMs?: number } = {},
  ): Promise<void> {
    const { settings, clock, registry, acks, workerId } = this.deps;
    const info = errorInfo(error, record.attempt, new Date(clock.now()));
    const outOfAttempts = record.maxAttempts !== null && record.attempt >= record.maxAttempts;
    let retryDelayMs: number | null = null;
    if (kind === 'failed' && !outOfAttempts) {
      const spec = record.backoff ?? registry.get(record.name)?.backoff?.spec ?? settings.backoff.spec;
      retryDelayMs = backoffDelayMs(spec, record.attempt);
    }
    const item: FailItem = { id: record.id, workerId, error: info, retryDelayMs, cancelled: kind === 'cancelled', linked: isLinked(record) };
    if (interrupted) item.interrupted = true;
    const held = await acks.fail(item, record.attempt);
    this.host.finished();
    if (!held && mayHaveCompleted) {
      const job = await this.deps.storage.get(record.id).catch(() => null);
      if (completedBy(job, record.attempt)) {
        this.emit('completed', record, { result: job!.result, durationMs });
        return;
      }
    }
    if (!held) {
      this.emit('lease-lost', record, { error: info, durationMs });
      return;
    }
    if (kind === 'cancelled') {
      this.emit('cancelled', record, { error: info, durationMs });
      return;
    }
    this.emit('failed', record, { error: info, durationMs });
    if (retryDelayMs === null) {
      this.deps.logger.warn(`Job ${record.id} ('${record.name}') is dead after ${record.attempt} attempt(s): ${info.message}`);
      this.emit('dead', record, { error: info, durationMs });
    } else {
      this.emit('retrying', record, { error: info, retryDelayMs, durationMs });
      this.host.wakeAt(this.deps.clock.now() + retryDelayMs);
    }
  }

  /** Settles the outcome, then frees the slot (at once on the common path; after a hand-back or snooze is written otherwise). */
  private settleAndFree(run: RunningJob, outcome: Outcome): Promise<void> | undefined {
    let pending: Promise<void> | undefined;
    try {
      pending = this.settle(run, outcome);
    } finally {
      if (!pending) this.host.free(run);
    }
    return pending?.finally(() => this.host.free(run));
  }

  /** What a settled handler's outcome means for its job; synchronous but for a hand-back or a snooze. */
  private settle(run: RunningJob, outcome: Outcome): Promise<void> | undefined {
    const { record } = run;
    if (run.timer) this.deps.clock.clearTimeout(run.timer);
    const reason: unknown = run.reason;
    const durationMs = handlerMs(run, this.deps.clock.now());
    // The job's transaction wrote its outcome: held says whether this run completed it, whatever
    // abort came meanwhile (a heartbeat that waited for that commit sees the job gone, by us).
    if (outcome.ok && outcome.value instanceof Committed) {
      this.emit(outcome.value.held ? 'completed' : 'lease-lost', record, { result: outcome.value.value, durationMs });
      return undefined;
    }
    if (reason instanceof LeaseLostAbort) {
      this.emit('lease-lost', record, { durationMs });
      return undefined;
    }
    // A handler that finished its work despite the shutdown abort is recorded as it ended
    // (completed, or its schedule row snoozed): handing it back would run that work again.
    if (reason instanceof ShutdownAbort && !outcome.ok) {
      if (!run.handlerSettled) {
        // Never hand back a job whose handler may still run (another worker would run it
        // concurrently): it returns when its lease expires, and that run counts as an attempt.
        this.deps.logger.warn(`Job ${record.id} ('${record.name}') still runs after the shutdown abort; it returns to the queue when its lease expires.`);
        return undefined;
      }
      run.writing = true;
      return this.interrupted(record, durationMs);
    }
    if (reason instanceof JobCancelledError || reason instanceof JobTimeoutError) {
      const kind = reason instanceof JobCancelledError ? 'cancelled' : 'failed';
      if (run.handlerSettled) {
        void this.finishFailed(record, reason, kind, { mayHaveCompleted: run.writing, durationMs });
        return undefined;
      }
      // The handler ignored its signal: its slot is freed, but the job keeps its lease (renewed
      // by heartbeats) until the handler settles, so no retry can run beside it.
      this.abandoned.set(record.id, record);
      void run.handlerDone!.then(() => {
        this.abandoned.delete(record.id);
        void this.finishFailed(record, reason, kind, { mayHaveCompleted: run.writing, durationMs: handlerMs(run, this.deps.clock.now()) });
      });
      return undefined;
    }
    if (outcome.ok && outcome.value instanceof Snooze) {
      run.writing = true;
      return this.snooze(record, outcome.value.until);
    } else if (outcome.ok && outcome.value instanceof Snoozed) {
      if (!outcome.value.held) this.emit('lease-lost', record, { durationMs });
    } else if (outcome.ok) {
      this.finishCompleted(record, outcome.value, durationMs);
    } else if (outcome.error instanceof RateLimitedError) {
      run.writing = true;
      return this.rateLimited(record, outcome.error, durationMs);
    } else {
      // `writing` here: a transaction whose work was done failed to commit, or its answer was lost.
      void this.finishFailed(record, coerceError(outcome.error), 'failed', { mayHaveCompleted: run.writing, durationMs });
    }
    return undefined;
  }

  /**
   * A run cut short by shutdown (its handler settled after the abort): handed back without
   * counting the attempt, up to `maxInterruptions` times per job; past that, the interruption
   * counts as a failed attempt (retried with backoff, or dead when out of attempts), so a job
   * that never finishes before its instance stops cannot loop across deploys for ever. Only
   * the lease holder changes the count, so the claimed record's count is the stored one.
   */
  private interrupted(record: JobRecord, durationMs: number): Promise<void> {
    const max = this.deps.settings.maxInterruptions ?? ENGINE_DEFAULTS.maxInterruptions;
    // A storage that predates the count returns none: 0.
    const times = (record.interruptions ?? 0) + 1;
    if (times <= max) return this.handBack(record, true);
    const error = new JobInterruptedError(record.name, times, max);
    this.deps.logger.warn(`Job ${record.id} ('${record.name}'): ${error.message}`);
    return this.finishFailed(record, error, 'failed', { interrupted: true, durationMs });
  }

  /**
   * Runs the handler and resolves with its outcome; once the job is aborted, waits at most
   * `abortGraceMs` more, so a handler that ignores its signal cannot hold a slot for ever.
   * One promise per job on the common path (no race, no listener; the grace timer is armed
   * only on an abort). `run.handlerSettled` says whether the handler has settled; past the
   * grace, `run.handlerDone` resolves when it does.
   */
  private runWithAbortGrace(run: RunningJob, invoke: JobHandlerFn | (() => unknown), ctx: RunContext | undefined): Promise<Outcome> {
    return new Promise<Outcome>((resolve) => {
      run.resolve = resolve;
      run.onAbort = this.armGrace;
      if (run.reason !== undefined) this.armGrace(run);
      let value: unknown;
      try {
        value = ctx ? (invoke as JobHandlerFn)(run.record.payload, ctx, run.record) : (invoke as () => unknown)();
        if (isThenable(value)) {
          value.then(
            (v) => this.handlerSettled(run, { ok: true, value: v }),
            (error: unknown) => this.handlerSettled(run, { ok: false, error }),
          );
          return;
        }
      } catch (error) {
        this.handlerSettled(run, { ok: false, error });
        return;
      }
      this.handlerSettled(run, { ok: true, value });
    });
  }

  /** The handler settled: its outcome, unless the abort grace already resolved the run. */
  private handlerSettled(run: RunningJob, outcome: Outcome): void {
    run.handlerSettled = true;
    run.endedAt = this.deps.clock.now();
    run.onAbort = null;
    if (run.grace) this.deps.clock.clearTimeout(run.grace);
    run.settledLate?.();
    run.resolve!(outcome);
  }

  /** On the first abort of a running job: past `abortGraceMs`, its slot is freed even if the handler ignores the signal. */
  private readonly armGrace = (run: RunningJob): void => {
    const { clock, settings, logger } = this.deps;
    const { record } = run;
    run.grace = clock.setTimeout(() => {
      logger.warn(
        `Job ${record.id} ('${record.name}') ignored its abort signal for ${settings.abortGraceMs} ms; ` +
          'its slot is freed, but the handler may still be running. Handlers should honour ctx.signal.',
      );
      // Only now is a promise of "the handler finally settled" needed (the abandoned path).
      run.handlerDone = new Promise<void>((r) => (run.settledLate = r));
      run.resolve!({ ok: false, error: run.reason });
    }, settings.abortGraceMs);
  };

  /** See `handBackRateLimited`; this instance looks at the queue again when the block ends. */
  private async rateLimited(record: JobRecord, error: RateLimitedError, durationMs: number): Promise<void> {
    const { storage, logger, workerId, clock } = this.deps;
    const back = await handBackRateLimited(storage, logger, workerId, record, error);
    if (back) this.emit(back.held ? 'released' : 'lease-lost', record, { durationMs });
    if (back?.held) this.host.wakeAt(clock.now() + back.blockMs);
  }

  private async snooze(record: JobRecord, until: Date): Promise<void> {
    const held = await this.deps.storage.release([record.id], this.deps.workerId, until);
    if (!held.length) this.emit('lease-lost', record);
  }

  /** Queues the completion (no promise per job: the hot path); emits once it is written. */
  private finishCompleted(record: JobRecord, value: unknown, durationMs: number): void {
    const result = toResultJson(value, record, this.deps.logger);
    this.deps.acks.complete({ id: record.id, workerId: this.deps.workerId, result, linked: isLinked(record) }, record.attempt, (held) => {
      if (held) this.emit('completed', record, { result: value, durationMs });
      else this.emit('lease-lost', record, { durationMs });
      this.host.finished();
    });
  }

  private emit(type: JobEventType, record: JobRecord, extra: Partial<JobEvent> = {}): void {
    if (type === 'completed' || type === 'failed' || type === 'cancelled' || type === 'released' || type === 'lease-lost') {
      this.progress.forget(record.id);
    }
    if (this.deps.events.observed) this.deps.events.next(jobEvent(type, record, this.deps.clock.now(), extra));
  }
}
