import type { Subject } from 'rxjs';
import { JobCancelledError } from '../errors/job-cancelled.error.js';
import { JobTimeoutError } from '../errors/job-timeout.error.js';
import { UnknownJobError } from '../errors/unknown-job.error.js';
import { LeaseLostAbort, ShutdownAbort } from './abort-reasons.js';
import type { AckBatcher } from './ack-batcher.js';
import type { Clock, TimerHandle } from './clock.js';
import { coerceError, errorInfo } from './coerce-error.js';
import type { EngineLogger, EngineSettings } from './engine-options.js';
import type { HandlerRegistry } from './handler-registry.js';
import type { JobEvent, JobEventType } from './job-events.js';
import type { JobRecord } from './job-record.js';
import { abortRun, Committed, isThenable, RunContext, SETTLED, toResultJson, type JobHandlerFn, type Outcome, type ProgressSink, type RunningJob } from './job-run.js';
import { backoffDelayMs } from './retry-policy.js';
import { Snooze } from './snooze.js';
import type { Storage } from './storage.js';

/**
 * A slot held for a job this instance is enqueueing already claimed (the local hand-off):
 * `start` runs the stored job in it, `cancel` gives it back (the job was stored waiting, or
 * the write failed). Exactly one of them must be called.
 */
export interface HandoffSlot {
  start(record: JobRecord): void;
  cancel(): void;
}

export interface RunnerDeps {
  storage: Storage;
  registry: HandlerRegistry;
  clock: Clock;
  events: Subject<JobEvent>;
  acks: AckBatcher;
  logger: EngineLogger;
  settings: EngineSettings;
  workerId: string;
}

/**
 * Runs one queue on this instance: a bounded buffer of claimed jobs (prefetch) feeds
 * `concurrency` slots; the buffer is refilled by one batched claim when it is half empty.
 * When a claim comes back short the queue is drained: the runner waits for a wake-up
 * (a local enqueue, a NOTIFY) or the poll interval.
 */
export class QueueRunner implements ProgressSink {
  private readonly buffer: JobRecord[] = [];
  private readonly running = new Map<string, RunningJob>();
  /** Jobs whose handler ignored a timeout/cancel abort: slot freed, lease kept until it settles. */
  private readonly abandoned = new Map<string, JobRecord>();
  private retryWake: { at: number; timer: TimerHandle } | null = null;
  private claiming = false;
  /** A wake-up came while a claim was in flight: that claim may have missed the new job. */
  private wokenWhileClaiming = false;
  private drained = false;
  private stopping = false;
  private pollTimer: TimerHandle | null = null;
  private claimFailures = 0;
  /** Slots held for local hand-offs whose write has not returned yet, and their ends. */
  private readonly reservations = new Set<Promise<void>>();
  private readonly capacity: number;
  private readonly lowWater: number;

  constructor(
    readonly queue: string,
    private readonly concurrency: number,
    prefetch: number,
    private readonly deps: RunnerDeps,
  ) {
    this.capacity = concurrency + prefetch;
    this.lowWater = concurrency + Math.floor(prefetch / 2);
  }

  start(): void {
    this.kick();
  }

  /** New work may be due: claim now rather than at the next poll. */
  wake(): void {
    if (this.stopping) return;
    this.drained = false;
    if (this.claiming) this.wokenWhileClaiming = true;
    this.kick();
  }

  /** Ids this runner holds a lease on (buffered or running). */
  heldIds(): string[] {
    const ids = this.buffer.map((j) => j.id);
    for (const id of this.running.keys()) ids.push(id);
    for (const id of this.abandoned.keys()) ids.push(id);
    return ids;
  }

  /**
   * A slot for a job this instance is about to store already claimed, when the queue is idle
   * here: no claim in flight, the last claim came back short (so no due job waits in the
   * storage ahead of the new one), nothing buffered, and a slot free. Null otherwise: the job
   * is stored waiting and claimed as usual.
   */
  reserve(): HandoffSlot | null {
    if (this.stopping || this.claiming || !this.drained || this.buffer.length) return null;
    if (this.running.size + this.reservations.size >= this.concurrency) return null;
    let end!: () => void;
    const done = new Promise<void>((resolve) => (end = resolve));
    this.reservations.add(done);
    let open = true;
    const close = () => {
      open = false;
      this.reservations.delete(done);
      end();
    };
    return {
      start: (record) => {
        if (!open) return;
        if (this.stopping) {
          // Shutdown began while the job was being written: hand it back (no attempt counted).
          void this.deps.storage.release([record.id], this.deps.workerId).then(
            () => this.emit('released', record),
            (err: unknown) => this.deps.logger.warn(`Could not hand back job ${record.id}; it returns when its lease expires: ${coerceError(err).message}`),
          ).finally(close);
          return;
        }
        close();
        this.startJob(record);
      },
      cancel: () => {
        if (!open) return;
        close();
        this.kick();
      },
    };
  }

  get activeCount(): number {
    return this.running.size;
  }

  /** Jobs held here that are not running yet: buffered, or being handed off. */
  get bufferedCount(): number {
    return this.buffer.length + this.reservations.size;
  }

  /** The storage says these leases are gone, or these jobs were cancelled. */
  onHeartbeat(lost: Set<string>, cancelled: Set<string>): void {
    for (let i = this.buffer.length - 1; i >= 0; i--) {
      const job = this.buffer[i]!;
      if (lost.has(job.id)) this.buffer.splice(i, 1);
    }
    for (const [id, run] of this.running) {
      if (lost.has(id)) abortRun(run, new LeaseLostAbort(id));
      else if (cancelled.has(id)) abortRun(run, new JobCancelledError(id));
    }
    // Cancelled jobs still in the buffer never start: record them cancelled.
    for (let i = this.buffer.length - 1; i >= 0; i--) {
      const job = this.buffer[i]!;
      if (!cancelled.has(job.id)) continue;
      this.buffer.splice(i, 1);
      void this.finishFailed(job, new JobCancelledError(job.id), 'cancelled');
    }
  }

  /** Stops claiming and hands buffered jobs back at once. */
  async stopClaiming(): Promise<void> {
    this.stopping = true;
    if (this.pollTimer) this.deps.clock.clearTimeout(this.pollTimer);
    this.pollTimer = null;
    if (this.retryWake) this.deps.clock.clearTimeout(this.retryWake.timer);
    this.retryWake = null;
    const unstarted = this.buffer.splice(0);
    if (unstarted.length) {
      try {
        await this.deps.storage.release(unstarted.map((j) => j.id), this.deps.workerId);
      } catch (err) {
        this.deps.logger.warn(
          `Could not hand back ${unstarted.length} unstarted job(s) of queue '${this.queue}'; ` +
            `they return when their lease expires: ${(err as Error).message}`,
        );
      }
    }
  }

  /** Resolves when every running handler has settled. */
  async whenSettled(): Promise<void> {
    while (this.running.size || this.reservations.size) {
      await Promise.all([...[...this.running.values()].map((r) => r.settled), ...this.reservations]);
    }
  }

  /** Aborts every running handler (shutdown past its grace period). */
  abortAll(reason: Error): void {
    for (const run of this.running.values()) abortRun(run, reason);
  }

  private kick(): void {
    while (this.running.size + this.reservations.size < this.concurrency && this.buffer.length) this.startJob(this.buffer.shift()!);
    this.maybeClaim();
  }

  private maybeClaim(): void {
    if (this.stopping || this.claiming || this.drained) return;
    const held = this.buffer.length + this.running.size + this.reservations.size;
    if (held > this.lowWater) return;
    this.claiming = true;
    this.wokenWhileClaiming = false;
    const limit = this.capacity - held;
    const { storage, settings, workerId } = this.deps;
    storage.claim(this.queue, workerId, limit, settings.leaseMs).then(
      (jobs) => {
        this.claiming = false;
        this.claimFailures = 0;
        if (this.stopping) {
          if (jobs.length) void storage.release(jobs.map((j) => j.id), workerId).catch(() => undefined);
          return;
        }
        for (const job of jobs) this.buffer.push(job);
        // A short claim means the queue is drained, unless a wake-up came meanwhile: the job
        // behind it may have been stored after the claim's snapshot, so claim once more.
        if (jobs.length < limit && !this.wokenWhileClaiming) this.idleUntilPoll();
        this.kick();
      },
      (err: unknown) => {
        this.claiming = false;
        this.claimFailures++;
        const wait = Math.min(settings.pollIntervalMs * 5, 100 * 2 ** Math.min(this.claimFailures, 8));
        this.deps.logger.error(`Claim on queue '${this.queue}' failed; retrying in ${wait} ms: ${coerceError(err).message}`);
        this.idleUntilPoll(wait);
      },
    );
  }

  /** Claims again at `at` if that is before the next poll: a retry runs when due, not a poll later. */
  private wakeAt(at: number): void {
    const { clock } = this.deps;
    if (this.stopping || (this.retryWake && this.retryWake.at <= at)) return;
    if (this.retryWake) clock.clearTimeout(this.retryWake.timer);
    const timer = clock.setTimeout(() => {
      this.retryWake = null;
      this.wake();
    }, Math.max(0, at - clock.now()));
    this.retryWake = { at, timer };
  }

  private idleUntilPoll(ms = this.deps.settings.pollIntervalMs): void {
    this.drained = true;
    if (this.pollTimer) this.deps.clock.clearTimeout(this.pollTimer);
    this.pollTimer = this.deps.clock.setTimeout(() => {
      this.pollTimer = null;
      this.wake();
    }, ms);
  }

  private startJob(record: JobRecord): void {
    const run: RunningJob = {
      record, controller: null, reason: undefined, onAbort: null, handlerSettled: false, settled: SETTLED,
      timer: null, grace: null, resolve: null,
    };
    this.running.set(record.id, run);
    run.settled = this.execute(run);
  }

  /** The job's slot is free: the next buffered job may start. */
  private free(run: RunningJob): void {
    this.running.delete(run.record.id);
    this.kick();
  }

  /**
   * Runs one job. Resolves as soon as the handler has settled, freeing the slot; the
   * outcome is written by the ack batcher in the background (its lease is renewed until
   * then, and shutdown drains it). Not an async function: the common path allocates the
   * handler's context, one promise and two callbacks, no suspended frame.
   */
  private execute(run: RunningJob): Promise<void> {
    const { record } = run;
    const { registry, clock, settings, storage, workerId } = this.deps;
    const def = registry.get(record.name);
    if (!def) {
      void this.finishFailed(record, new UnknownJobError(record.name, registry.names()), 'failed');
      queueMicrotask(() => this.free(run));
      return SETTLED;
    }
    const timeoutMs = record.timeoutMs ?? def.timeoutMs ?? settings.timeoutMs;
    if (timeoutMs) {
      run.timer = clock.setTimeout(() => abortRun(run, new JobTimeoutError(record.name, timeoutMs)), timeoutMs);
    }
    this.emit('started', record);
    const transactional = def.transactional && storage.completeWithin
      ? () =>
          storage.completeWithin!(
            record.id,
            workerId,
            (manager) => Promise.resolve(def.handler(record.payload, new RunContext(run, this, manager), record)),
            (v) => toResultJson(v, record, this.deps.logger),
          ).then(({ held, value }) => new Committed(held, value))
      : null;
    return this.runWithAbortGrace(run, transactional ?? def.handler, transactional ? undefined : new RunContext(run, this)).then(
      (outcome) => this.settleAndFree(run, outcome),
    );
  }

  /** Settles the outcome, then frees the slot (at once on the common path; after a hand-back or snooze is written otherwise). */
  private settleAndFree(run: RunningJob, outcome: Outcome): Promise<void> | undefined {
    let pending: Promise<void> | undefined;
    try {
      pending = this.settle(run, outcome);
    } finally {
      if (!pending) this.free(run);
    }
    return pending?.finally(() => this.free(run));
  }

  /** What a settled handler's outcome means for its job; synchronous but for a hand-back or a snooze. */
  private settle(run: RunningJob, outcome: Outcome): Promise<void> | undefined {
    const { record } = run;
    if (run.timer) this.deps.clock.clearTimeout(run.timer);
    const reason: unknown = run.reason;
    if (reason instanceof LeaseLostAbort) {
      this.emit('lease-lost', record);
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
      return this.handBack(record);
    }
    if (reason instanceof JobCancelledError || reason instanceof JobTimeoutError) {
      const kind = reason instanceof JobCancelledError ? 'cancelled' : 'failed';
      if (run.handlerSettled) {
        void this.finishFailed(record, reason, kind);
        return undefined;
      }
      // The handler ignored its signal: its slot is freed, but the job keeps its lease (renewed
      // by heartbeats) until the handler settles, so no retry can run beside it.
      this.abandoned.set(record.id, record);
      void run.handlerDone!.then(() => {
        this.abandoned.delete(record.id);
        void this.finishFailed(record, reason, kind);
      });
      return undefined;
    }
    if (outcome.ok && outcome.value instanceof Committed) {
      this.emit(outcome.value.held ? 'completed' : 'lease-lost', record, { result: outcome.value.value });
    } else if (outcome.ok && outcome.value instanceof Snooze) {
      return this.snooze(record, outcome.value.until);
    } else if (outcome.ok) {
      this.finishCompleted(record, outcome.value);
    } else {
      void this.finishFailed(record, coerceError(outcome.error), 'failed');
    }
    return undefined;
  }

  /** Hands a job interrupted by shutdown back to the queue, without counting the attempt. */
  private async handBack(record: JobRecord): Promise<void> {
    try {
      await this.deps.storage.release([record.id], this.deps.workerId);
      this.emit('released', record);
    } catch (err) {
      this.deps.logger.warn(`Could not hand back job ${record.id}; it returns when its lease expires: ${coerceError(err).message}`);
    }
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

  private async snooze(record: JobRecord, until: Date): Promise<void> {
    const held = await this.deps.storage.release([record.id], this.deps.workerId, until);
    if (!held.length) this.emit('lease-lost', record);
  }

  /** Queues the completion (no promise per job: the hot path); emits once it is written. */
  private finishCompleted(record: JobRecord, value: unknown): void {
    const result = toResultJson(value, record, this.deps.logger);
    this.deps.acks.complete({ id: record.id, workerId: this.deps.workerId, result }, (held) => {
      if (held) this.emit('completed', record, { result: value });
      else this.emit('lease-lost', record);
    });
  }

  private async finishFailed(record: JobRecord, error: Error, kind: 'failed' | 'cancelled'): Promise<void> {
    const { settings, clock, registry, acks, workerId } = this.deps;
    const info = errorInfo(error, record.attempt, new Date(clock.now()));
    const outOfAttempts = record.maxAttempts !== null && record.attempt >= record.maxAttempts;
    let retryDelayMs: number | null = null;
    if (kind === 'failed' && !outOfAttempts) {
      const spec = record.backoff ?? registry.get(record.name)?.backoff?.spec ?? settings.backoff.spec;
      retryDelayMs = backoffDelayMs(spec, record.attempt);
    }
    const held = await acks.fail({ id: record.id, workerId, error: info, retryDelayMs, cancelled: kind === 'cancelled' });
    if (!held) {
      this.emit('lease-lost', record, { error: info });
      return;
    }
    if (kind === 'cancelled') {
      this.emit('cancelled', record, { error: info });
      return;
    }
    this.emit('failed', record, { error: info });
    if (retryDelayMs === null) {
      this.deps.logger.warn(`Job ${record.id} ('${record.name}') is dead after ${record.attempt} attempt(s): ${info.message}`);
      this.emit('dead', record, { error: info });
    } else {
      this.emit('retrying', record, { error: info, retryDelayMs });
      this.wakeAt(this.deps.clock.now() + retryDelayMs);
    }
  }

  private lastProgressWrite = new Map<string, number>();

  /** For `RunContext.progress`. */
  async reportProgress(record: JobRecord, percent: number, data?: unknown): Promise<void> {
    if (typeof percent !== 'number' || !Number.isFinite(percent)) {
      throw new TypeError(`ctx.progress() takes a number from 0 to 100, got ${String(percent)}`);
    }
    const value = Math.max(0, Math.min(100, percent));
    this.emit('progress', record, { progress: value, progressData: data });
    // Throttled: at most one write a second per job, and always the final 100.
    const now = this.deps.clock.now();
    const last = this.lastProgressWrite.get(record.id) ?? 0;
    if (value < 100 && now - last < 1000) return;
    this.lastProgressWrite.set(record.id, now);
    const json = data === undefined ? null : JSON.stringify(data);
    try {
      await this.deps.storage.progress(record.id, this.deps.workerId, value, json);
    } catch (err) {
      this.deps.logger.warn(`Could not store progress of job ${record.id}: ${coerceError(err).message}`);
    }
  }

  private emit(type: JobEventType, record: JobRecord, extra: Partial<JobEvent> = {}): void {
    if (type === 'completed' || type === 'failed' || type === 'cancelled' || type === 'released' || type === 'lease-lost') {
      this.lastProgressWrite.delete(record.id);
    }
    if (!this.deps.events.observed) return;
    this.deps.events.next({
      type,
      jobId: record.id,
      name: record.name,
      queue: record.queue,
      attempt: record.attempt,
      at: this.deps.clock.now(),
      ...extra,
    });
  }
}
