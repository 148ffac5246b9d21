import type { MiddlewareChain } from './middleware.js';
import { randomUUID } from 'node:crypto';
import { Subject, Subscription } from 'rxjs';
import { ShutdownAbort } from './abort-reasons.js';
import { AckBatcher } from './ack-batcher.js';
import { systemClock, type Clock, type TimerHandle } from './clock.js';
import { coerceError } from './coerce-error.js';
import type { EngineLogger, EngineSettings } from './engine-options.js';
import type { HandlerRegistry } from './handler-registry.js';
import type { JobEvent } from './job-events.js';
import type { NewJob } from './job-record.js';
import type { HandoffReservation, LocalWorkers } from './local-workers.js';
import { QueueRunner } from './queue-runner.js';
import type { Storage } from './storage.js';
import type { WorkerStatus } from './worker-status.js';

export interface EngineDeps {
  storage: Storage;
  registry: HandlerRegistry;
  settings: EngineSettings;
  logger: EngineLogger;
  events?: Subject<JobEvent>;
  clock?: Clock;
  /** Job middleware whose `process` hooks wrap each attempt. */
  middleware?: MiddlewareChain;
  /** Defaults to a random id per process: never a host name (several processes share hosts). */
  workerId?: string;
}

/**
 * The worker side of one instance: a runner per queue, one heartbeat timer for every lease
 * this instance holds, a rescuer for leases that other (dead) instances left behind, and
 * the graceful drain on shutdown.
 */
export class Engine implements LocalWorkers {
  readonly workerId: string;
  readonly events: Subject<JobEvent>;
  private readonly clock: Clock;
  private readonly runners = new Map<string, QueueRunner>();
  private readonly acks: AckBatcher;
  private heartbeatTimer: TimerHandle | null = null;
  private rescueTimer: TimerHandle | null = null;
  private maintenanceTimer: TimerHandle | null = null;
  private readonly signalSubs = new Subscription();
  private started = false;
  private lastBeat = 0;
  private stopped = false;
  private drained = false;
  /** Heartbeats, rescues and prunes in flight. */
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly deps: EngineDeps) {
    this.workerId = deps.workerId ?? `w-${randomUUID()}`;
    this.events = deps.events ?? new Subject<JobEvent>();
    this.clock = deps.clock ?? systemClock;
    this.acks = new AckBatcher(deps.storage, deps.settings.ackBatchSize, deps.logger, Math.max(10, Math.min(5000, Math.floor(deps.settings.leaseMs / 4))));
  }

  /** Queues this instance works: configured ones plus those that have a handler here. */
  queueNames(): string[] {
    return [...new Set([...Object.keys(this.deps.settings.queues), ...this.deps.registry.queues()])];
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    const { settings } = this.deps;
    for (const queue of this.queueNames()) {
      const options = settings.queues[queue] ?? {};
      const concurrency = options.concurrency ?? settings.defaultConcurrency;
      const runner = new QueueRunner(queue, concurrency, options.prefetch, {
        storage: this.deps.storage,
        registry: this.deps.registry,
        clock: this.clock,
        events: this.events,
        acks: this.acks,
        logger: this.deps.logger,
        settings,
        workerId: this.workerId,
        middleware: this.deps.middleware,
      });
      this.runners.set(queue, runner);
    }
    this.lastBeat = this.clock.now();
    const { storage } = this.deps;
    // A wake-up with a delay says how long from now, measured by the storage: timed on this
    // node's clock from its arrival (this clock only decides when to look; the claim compares
    // due times on the storage's).
    this.signalSubs.add(
      storage.wakeups?.().subscribe((w) => (typeof w === 'string' ? this.wake(w) : this.wakeAt(w.queue, this.clock.now() + w.inMs))),
    );
    this.signalSubs.add(
      storage.cancellations?.().subscribe((id) => {
        const cancelled = new Set([id]);
        for (const r of this.runners.values()) r.onHeartbeat(new Set(), cancelled);
      }),
    );
    for (const runner of this.runners.values()) runner.start();
    this.scheduleHeartbeat();
    this.scheduleRescue(0);
    this.scheduleMaintenance();
  }

  /** New work may be due in `queue` (or in every queue). */
  wake(queue?: string): void {
    if (queue === undefined) for (const r of this.runners.values()) r.wake();
    else this.runners.get(queue)?.wake();
  }

  /** A job of `queue` falls due at `at` (this node's clock): that queue's runner claims then. */
  wakeAt(queue: string, at: number): void {
    this.runners.get(queue)?.wakeAt(at);
  }

  /**
   * A slot for the local hand-off of a job this instance is enqueueing (see
   * `QueueRunner.reserve`), with what the storage needs to store it claimed; null when the
   * hand-off is off, this instance has no handler for the job (another instance may have
   * one), does not run its queue, or the queue is busy here.
   */
  reserve(job: NewJob): HandoffReservation | null {
    if (!this.started || this.stopped || this.deps.settings.localHandoff === false || !this.deps.registry.get(job.name)) return null;
    const slot = this.runners.get(job.queue)?.reserve();
    return slot ? { start: slot.start, cancel: slot.cancel, workerId: this.workerId, leaseMs: this.deps.settings.leaseMs } : null;
  }

  /** Handlers running now, per queue. */
  activeCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [q, r] of this.runners) out[q] = r.activeCount;
    return out;
  }

  /** See `WorkerStatus`. */
  status(): WorkerStatus {
    const state = !this.started ? 'not-started' : this.drained ? 'stopped' : this.stopped ? 'stopping' : 'running';
    const queues: WorkerStatus['queues'] = {};
    for (const [q, r] of this.runners) {
      const slots = r.heldSlots;
      queues[q] = slots === null ? { active: r.activeCount, buffered: r.bufferedCount } : { active: r.activeCount, buffered: r.bufferedCount, slots };
    }
    return {
      state,
      workerId: this.workerId,
      heartbeatAgeMs: state === 'running' ? Math.max(0, this.clock.now() - this.lastBeat) : null,
      leaseMs: this.deps.settings.leaseMs,
      queues,
    };
  }

  /** True when this instance holds nothing of `queue` (or of any queue): no buffered, running or unacknowledged job. */
  isLocallyIdle(queue?: string): boolean {
    const runners = queue === undefined ? [...this.runners.values()] : [this.runners.get(queue)].filter(Boolean);
    return this.acks.pending === 0 && runners.every((r) => r!.activeCount === 0 && r!.bufferedCount === 0);
  }

  /**
   * Graceful stop: stop claiming, hand back unstarted jobs, let running ones finish up to
   * `shutdownTimeoutMs`, then abort them; each is handed back as it settles. A handler that
   * ignores the abort is left to its lease (never released while it may still run).
   */
  async stop(): Promise<void> {
    if (!this.started || this.stopped) return;
    this.stopped = true;
    this.signalSubs.unsubscribe();
    if (this.rescueTimer) this.clock.clearTimeout(this.rescueTimer);
    if (this.maintenanceTimer) this.clock.clearTimeout(this.maintenanceTimer);
    const runners = [...this.runners.values()];
    await Promise.all(runners.map((r) => r.stopClaiming()));
    const settled = Promise.all(runners.map((r) => r.whenSettled()));
    let allSettled = await this.within(settled, this.deps.settings.shutdownTimeoutMs);
    if (!allSettled) {
      const active = runners.reduce((n, r) => n + r.activeCount, 0);
      this.deps.logger.warn(`Shutdown: ${active} job(s) still running after ${this.deps.settings.shutdownTimeoutMs} ms; aborting them.`);
      for (const r of runners) r.abortAll(new ShutdownAbort());
      allSettled = await this.within(settled, this.deps.settings.abortGraceMs + 100);
    }
    // Slots of a global concurrency go back now; with a handler still running they stay held
    // until their lease runs out, so that no other instance starts one more meanwhile.
    if (allSettled) await this.within(Promise.all(runners.map((r) => r.releaseSlots())), this.deps.settings.leaseMs);
    await this.drainOutcomes();
    if (this.heartbeatTimer) this.clock.clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = null;
    // A heartbeat, rescue or prune still in flight finishes before the storage closes under it
    // (for at most a lease: one that hangs on a dead connection must not keep close() waiting).
    if (this.inFlight.size) await this.within(Promise.all(this.inFlight), this.deps.settings.leaseMs);
    this.drained = true;
  }

  /** Runs one piece of background upkeep, known to `stop()` until it settles (it never rejects). */
  private upkeep(work: () => Promise<void>, then: () => void): void {
    const done = work().finally(() => {
      this.inFlight.delete(done);
      then();
    });
    this.inFlight.add(done);
  }

  /**
   * Writes the outcomes still queued, for as long as writes succeed (a large backlog drains
   * whole); it gives up once a whole `leaseMs` passes without one batch written. By then the
   * leases of those jobs have run out (heartbeats fail with the writes when the database is
   * down) and the rescuer of any instance owns them, so waiting longer would only keep
   * `app.close()` from returning. What is left unwritten is logged; those jobs return to the
   * queue when their leases expire and run again (at-least-once).
   */
  private async drainOutcomes(): Promise<void> {
    const { leaseMs } = this.deps.settings;
    const drained = this.acks.drain();
    for (let written = -1; this.acks.written !== written; ) {
      written = this.acks.written;
      if (await this.within(drained, leaseMs)) return;
    }
    const left = this.acks.abandon();
    if (!left.length) return;
    const list = (kind: 'complete' | 'fail') => left.filter((a) => a.kind === kind).map((a) => a.id);
    const [completions, failures] = [list('complete'), list('fail')];
    this.deps.logger.error(
      `Shutdown: gave up recording ${left.length} job outcome(s): no write got through for leaseMs (${leaseMs} ms)` +
        `${completions.length ? `; completions of job(s) ${completions.join(', ')}` : ''}` +
        `${failures.length ? `; failures of job(s) ${failures.join(', ')}` : ''}. ` +
        'Their leases expire and the rescuer returns them to the queue, where they run again; check the database connection.',
    );
  }

  private within(promise: Promise<unknown>, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = this.clock.setTimeout(() => resolve(false), ms);
      void promise.then(() => {
        this.clock.clearTimeout(timer);
        resolve(true);
      });
    });
  }

  private scheduleHeartbeat(): void {
    const interval = this.deps.settings.heartbeatIntervalMs;
    const due = this.clock.now() + interval;
    this.heartbeatTimer = this.clock.setTimeout(() => {
      const lag = this.clock.now() - due;
      if (lag > this.deps.settings.leaseMs / 3) {
        this.deps.logger.warn(
          `The event loop was blocked for ${lag} ms (lease ${this.deps.settings.leaseMs} ms): leases are at risk. ` +
            'Move CPU-heavy work off the main thread, or raise leaseMs.',
        );
      }
      this.upkeep(() => this.heartbeat(), () => {
        if (this.heartbeatTimer !== null) this.scheduleHeartbeat();
      });
    }, this.deps.settings.heartbeatIntervalMs);
  }

  /**
   * Renews every lease this instance holds, and records the start of jobs that started from a
   * prefetch buffer since the last beat (so that from now on a crash counts their attempt; a
   * job that finishes first needs no record: its outcome supersedes it). First, each runner
   * hands back the buffered jobs its buffer no longer wants (see `QueueRunner.trimBuffer`).
   */
  private async heartbeat(): Promise<void> {
    // Holds of a global concurrency renew beside the job leases (a slow one does not hold them up).
    for (const r of this.runners.values()) void r.renewSlots();
    await Promise.all([...this.runners.values()].map((r) => r.trimBuffer()));
    const ids = [...this.acks.pendingIds()];
    const started: string[] = [];
    for (const r of this.runners.values()) {
      ids.push(...r.heldIds());
      started.push(...r.unrecordedStarts());
    }
    if (!ids.length) {
      this.lastBeat = this.clock.now();
      return;
    }
    try {
      const { lost, cancelled } = await this.deps.storage.heartbeat(ids, this.workerId, this.deps.settings.leaseMs, started);
      this.lastBeat = this.clock.now();
      if (started.length) for (const r of this.runners.values()) r.startsRecorded(started);
      if (!lost.length && !cancelled.length) return;
      const lostSet = new Set(lost);
      const cancelledSet = new Set(cancelled);
      for (const r of this.runners.values()) r.onHeartbeat(lostSet, cancelledSet);
    } catch (err) {
      this.deps.logger.error(`Heartbeat for ${ids.length} job(s) failed: ${coerceError(err).message}`);
      // Past a whole lease without a renewal, another instance may have rescued these jobs:
      // stop working on them rather than run them twice.
      if (this.clock.now() - this.lastBeat >= this.deps.settings.leaseMs) {
        this.deps.logger.warn(`No lease renewal for ${this.deps.settings.leaseMs} ms: abandoning ${ids.length} job(s) to the rescuer.`);
        for (const r of this.runners.values()) r.onHeartbeat(new Set(r.heldIds()), new Set());
      }
    }
  }

  private scheduleRescue(ms: number): void {
    if (this.stopped) return;
    this.rescueTimer = this.clock.setTimeout(() => {
      this.upkeep(() => this.rescue(), () => this.scheduleRescue(this.deps.settings.rescueIntervalMs));
    }, ms);
  }

  private scheduleMaintenance(): void {
    if (this.stopped || this.deps.settings.retainCompletedMs === null) return;
    this.maintenanceTimer = this.clock.setTimeout(() => {
      this.upkeep(() => this.pruneCompleted(), () => this.scheduleMaintenance());
    }, this.deps.settings.maintenanceIntervalMs);
  }

  /** Retention: completed jobs past `retainCompletedMs` go, in bounded batches (roll-up counts stay). */
  private async pruneCompleted(): Promise<void> {
    const retain = this.deps.settings.retainCompletedMs;
    if (retain === null) return;
    try {
      const olderThan = new Date((await this.deps.storage.now()) - retain);
      const removed = await this.deps.storage.prune({ olderThan, states: ['completed'], batchSize: 1000 });
      if (removed) this.deps.logger.debug?.(`Pruned ${removed} completed job(s) past retention.`);
    } catch (err) {
      this.deps.logger.error(`Pruning completed jobs failed: ${coerceError(err).message}`);
    }
  }

  private async rescue(): Promise<void> {
    try {
      const moved = await this.deps.storage.rescue();
      if (moved > 0) {
        this.deps.logger.warn(`Rescued ${moved} job(s) whose worker stopped renewing its lease.`);
        this.wake();
      }
    } catch (err) {
      this.deps.logger.error(`Rescue of expired leases failed: ${coerceError(err).message}`);
    }
  }
}
