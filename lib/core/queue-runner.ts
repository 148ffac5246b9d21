import { JobCancelledError } from '../errors/job-cancelled.error.js';
import { ADAPTIVE_PREFETCH, prefetchSizer, type PrefetchSizer } from './adaptive-prefetch.js';
import type { TimerHandle } from './clock.js';
import { coerceError } from './coerce-error.js';
import { DueTimes } from './due-times.js';
import { JobExecutor, type ExecutorHost, type WorkerDeps } from './job-executor.js';
import type { JobRecord } from './job-record.js';
import { newRun, SETTLED, type RunningJob } from './job-run.js';
import { RunningJobs } from './running-jobs.js';
import { HandoffSlots } from './handoff-slots.js';
import type { HandoffSlot } from './local-workers.js';
import { StartRecorder } from './start-recorder.js';
import { SlotHold } from './slot-hold.js';

/**
 * Runs one queue on this instance: a bounded buffer of claimed jobs (prefetch) feeds
 * `concurrency` slots; the buffer is refilled by one batched claim when it is half empty.
 * Its size is the queue's `prefetch`, or, when that is not set, what the observed run and
 * claim times call for (see `AdaptivePrefetch`), checked before each claim.
 * When a claim comes back short the queue is drained: the runner waits for a wake-up
 * (a local enqueue, a NOTIFY) or the poll interval. This is the producer half of a queue's
 * worker (what starts when); each job's run is its `JobExecutor`'s.
 */
export class QueueRunner implements ExecutorHost {
  private readonly buffer: JobRecord[] = [];
  private readonly running = new RunningJobs();
  /** Buffered jobs holding a slot while their start is recorded before they run. */
  private readonly starts: StartRecorder;
  /** When jobs known to this instance fall due (its retries, its delayed enqueues, a NOTIFY that says when). */
  private readonly dueTimes: DueTimes;
  private claiming = false;
  /** The claim in flight, settled once its jobs are buffered (or handed back, when shutdown began meanwhile). */
  private claimed: Promise<void> = SETTLED;
  /** A wake-up came while a claim was in flight: that claim may have missed the new job. */
  private wokenWhileClaiming = false;
  private drained = false;
  /**
   * The last claim came back short on a queue with cluster-wide limits: the limits, not the
   * queue, may have cut it, so the next written outcome of a job here (a slot given back)
   * claims again rather than waiting for the poll.
   */
  private limitedShort = false;
  /** Shutdown began: no more claims. */
  stopping = false;
  private pollTimer: TimerHandle | null = null;
  private claimFailures = 0;
  /** Slots held for local hand-offs whose write has not returned yet. */
  private readonly handoffs: HandoffSlots;
  private readonly prefetch: PrefetchSizer;
  /** Jobs held at most (slots and buffer), and the level at or below which the buffer is refilled. */
  private capacity = 0;
  private lowWater = 0;
  private resizedAt = 0;
  private readonly executor: JobExecutor;
  /** The slots it may use: the concurrency, or its hold under a global concurrency. */
  private readonly hold: SlotHold;

  /** `prefetch`: the buffer's size; undefined sizes it from what the runner observes. */
  constructor(
    readonly queue: string,
    concurrency: number,
    prefetch: number | undefined,
    private readonly deps: WorkerDeps,
  ) {
    this.executor = new JobExecutor(deps, this);
    this.starts = new StartRecorder(queue, deps, this.executor, this);
    this.handoffs = new HandoffSlots(this.executor, this);
    this.dueTimes = new DueTimes(deps.clock, () => this.wake());
    this.hold = new SlotHold(queue, concurrency, deps, {
      busy: () => this.busySlots(),
      buffered: () => this.buffer.length,
      changed: () => this.kick(),
    });
    this.prefetch = prefetchSizer(concurrency, prefetch, () => this.hold.slots);
    this.resize();
  }

  private resize(now = this.deps.clock.now()): void {
    const prefetch = this.prefetch.size(now, this.running.since());
    const slots = this.hold.slots;
    this.capacity = slots + prefetch;
    this.lowWater = slots + Math.floor(prefetch / 2);
    this.resizedAt = now;
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

  /** Ids this runner holds a lease on (buffered, having their start recorded, or running). */
  heldIds(): string[] {
    const ids = this.buffer.map((j) => j.id);
    for (const id of this.starts.ids()) ids.push(id);
    for (const id of this.running.ids()) ids.push(id);
    for (const id of this.executor.abandonedIds()) ids.push(id);
    return ids;
  }

  /** Jobs started here whose start the next heartbeat records (handlers past their abort grace always; see `RunningJobs`). */
  unrecordedStarts(): string[] {
    return [...this.running.unrecordedStarts(), ...this.executor.abandonedIds()];
  }

  /** A heartbeat recorded the start of these jobs. */
  startsRecorded(ids: readonly string[]): void {
    this.running.startsRecorded(ids);
  }

  /**
   * A slot for a job this instance is about to store already claimed, when the queue is idle
   * here: no claim in flight, the last claim came back short (so no due job waits in the
   * storage ahead of the new one), nothing buffered, and a slot free. Null otherwise: the job
   * is stored waiting and claimed as usual.
   */
  reserve(): HandoffSlot | null {
    if (this.stopping || this.claiming || !this.drained || this.buffer.length || this.starts.size) return null;
    if (this.busySlots() >= this.hold.slots) return null;
    return this.handoffs.reserve();
  }

  /** Slots it may use under the queue's global concurrency; null when the queue has none. */
  get heldSlots(): number | null {
    return this.hold.limitedSlots;
  }

  get activeCount(): number {
    return this.running.size;
  }

  /** Jobs held here that are not running yet: buffered, having their start recorded, or being handed off. */
  get bufferedCount(): number {
    return this.buffer.length + this.starts.size + this.handoffs.size;
  }

  /** The storage says these leases are gone, or these jobs were cancelled. */
  onHeartbeat(lost: Set<string>, cancelled: Set<string>): void {
    // Buffered: lost ones are let go; cancelled ones never start, recorded cancelled.
    const cancel: JobRecord[] = [];
    for (let i = this.buffer.length - 1; i >= 0; i--) {
      const job = this.buffer[i]!;
      if (!lost.has(job.id) && !cancelled.has(job.id)) continue;
      this.buffer.splice(i, 1);
      if (!lost.has(job.id)) cancel.unshift(job);
    }
    this.starts.onHeartbeat(lost, cancelled);
    this.running.onHeartbeat(lost, cancelled);
    for (const job of cancel) void this.executor.finishFailed(job, new JobCancelledError(job.id), 'cancelled');
  }

  /** Stops claiming and hands buffered jobs back at once. */
  async stopClaiming(): Promise<void> {
    this.stopping = true;
    this.hold.stop();
    if (this.pollTimer) this.deps.clock.clearTimeout(this.pollTimer);
    this.pollTimer = null;
    this.dueTimes.clear();
    await Promise.all([this.handBackUnstarted(this.buffer.splice(0)), this.claimed.catch(() => undefined)]);
  }

  /**
   * Hands back the buffered jobs the buffer's size no longer wants: an adaptive buffer filled
   * while jobs were short, whose jobs turned long (see `AdaptivePrefetch.excess`). The last
   * claimed go; the next ones to start stay.
   */
  async trimBuffer(): Promise<void> {
    if (this.stopping || !this.buffer.length) return;
    const excess = this.prefetch.excess(this.deps.clock.now(), this.running.since(), this.buffer.length);
    if (excess <= 0) return;
    const back = this.buffer.splice(this.buffer.length - excess);
    this.resize();
    await this.handBackUnstarted(back);
  }

  /** Hands claimed jobs that never started back to the queue, without counting an attempt. */
  private async handBackUnstarted(jobs: JobRecord[]): Promise<void> {
    if (!jobs.length) return;
    try {
      await this.deps.storage.release(jobs.map((j) => j.id), this.deps.workerId);
    } catch (err) {
      this.deps.logger.warn(
        `Could not hand back ${jobs.length} unstarted job(s) of queue '${this.queue}'; ` +
          `they return when their lease expires: ${coerceError(err).message}`,
      );
    }
  }

  /** Resolves when every running handler has settled. */
  async whenSettled(): Promise<void> {
    while (this.running.size || this.handoffs.size || this.starts.pending().length) {
      await Promise.all([...this.running.settled(), ...this.handoffs.pending(), ...this.starts.pending()]);
    }
  }

  /** Aborts every running handler (shutdown past its grace period). */
  abortAll(reason: Error): void {
    this.running.abortAll(reason);
  }

  /** Slots taken: running handlers, starts being recorded, local hand-offs being written. */
  private busySlots(): number {
    return this.running.size + this.starts.size + this.handoffs.size;
  }

  kick(): void {
    let recordFirst: JobRecord[] | null = null;
    while (this.busySlots() < this.hold.slots && this.buffer.length) {
      const job = this.buffer.shift()!;
      // A job a crash returned unstarted once runs once its start is on record (see `StartRecorder`).
      if (job.prefetched && job.rescuedUnstarted) (recordFirst ??= []).push(this.starts.hold(job));
      else this.startJob(job);
    }
    if (recordFirst) this.starts.record(recordFirst);
    this.maybeClaim();
  }

  private maybeClaim(): void {
    if (this.stopping || this.claiming || this.drained) return;
    // No slot yet (the hold not asked for, or cut to none): ask first, the claim sizes itself after.
    if (this.hold.slots > 0 && !this.wantsClaim()) return;
    this.claiming = true;
    this.wokenWhileClaiming = false;
    this.claimed = this.hold.beforeClaim().then(() => this.claim());
  }

  /** Whether the buffer is at or below its low water (sized again first). */
  private wantsClaim(): boolean {
    const held = this.buffer.length + this.busySlots();
    if (held > this.lowWater) {
      // An adaptive buffer may have grown since it was sized (the first jobs' run times are
      // in): look again now and then, so that the refill is not left to the old low water.
      if (!this.prefetch.adaptive) return false;
      const now = this.deps.clock.now();
      if (now - this.resizedAt < ADAPTIVE_PREFETCH.resizeEveryMs) return false;
      this.resize(now);
    } else this.resize();
    // Every slot busy and no buffer wanted (prefetch 0): the next free slot claims.
    return held <= this.lowWater && this.capacity - held > 0;
  }

  private claim(): Promise<void> {
    this.resize();
    const slots = this.hold.slots;
    const limit = this.capacity - this.buffer.length - this.busySlots();
    if (this.stopping || slots === 0 || limit <= 0) {
      this.claiming = false;
      // No slot here (other instances hold the queue's global concurrency): ask again at the poll.
      if (!this.stopping && slots === 0) this.idleUntilPoll();
      return SETTLED;
    }
    // Slots are free only when nothing is buffered: the first claimed jobs fill them at once,
    // and the claim records their start; the rest are prefetched (see `Storage.claim`).
    const startNow = Math.max(0, Math.min(limit, slots - this.busySlots()));
    const { storage, settings, workerId, clock } = this.deps;
    const claimedAt = clock.now();
    return storage.claim(this.queue, workerId, limit, settings.leaseMs, startNow).then(
      (jobs) => {
        this.claiming = false;
        this.claimFailures = 0;
        this.prefetch.claimed(clock.now() - claimedAt);
        // Shutdown began while the claim was in flight: hand its jobs back at once (no attempt
        // counted); `stopClaiming` waits for this, so the storage is still open for it.
        if (this.stopping) return this.handBackUnstarted(jobs);
        for (const job of jobs) this.buffer.push(job);
        this.hold.claimed(jobs.length, limit);
        // A short claim means the queue is drained, unless a wake-up came meanwhile: the job
        // behind it may have been stored after the claim's snapshot, so claim once more.
        if (jobs.length < limit && !this.wokenWhileClaiming) {
          this.idleUntilPoll();
          this.limitedShort = storage.isLimited?.(this.queue) === true;
        }
        this.kick();
      },
      (err: unknown) => {
        this.claiming = false;
        if (this.stopping) return;
        this.claimFailures++;
        const wait = Math.min(settings.pollIntervalMs * 5, 100 * 2 ** Math.min(this.claimFailures, 8));
        this.deps.logger.error(`Claim on queue '${this.queue}' failed; retrying in ${wait} ms: ${coerceError(err).message}`);
        this.idleUntilPoll(wait);
      },
    );
  }

  /**
   * Claims at `at` (this node's clock), when a job this instance knows of falls due: its own
   * retries, its own delayed enqueues, a NOTIFY that says when. So they start when due, not a
   * poll later; the poll stays the fallback for jobs it could not know of. Every due time is
   * kept, not only the soonest, so a later retry is not left to the poll (see `DueTimes`).
   */
  wakeAt(at: number): void {
    if (!this.stopping) this.dueTimes.add(at);
  }

  private idleUntilPoll(ms = this.deps.settings.pollIntervalMs): void {
    this.drained = true;
    if (this.pollTimer) this.deps.clock.clearTimeout(this.pollTimer);
    this.pollTimer = this.deps.clock.setTimeout(() => {
      this.pollTimer = null;
      this.wake();
    }, ms);
  }

  /** `startRecorded`: the storage knows it started (else the next heartbeat reports it). */
  startJob(record: JobRecord, startRecorded = !record.prefetched): void {
    const run = newRun(record, startRecorded);
    this.running.add(run);
    run.settled = this.executor.execute(run);
  }

  /** Jobs whose start could not be recorded: back to the front of the buffer, tried again at the next wake-up. */
  putBack(jobs: JobRecord[]): void {
    this.buffer.unshift(...jobs);
    this.idleUntilPoll();
  }

  /** The job's slot is free: the next buffered job may start. */
  free(run: RunningJob): void {
    this.running.delete(run);
    // A run that never called its handler (an unknown job) says nothing of run times.
    if (run.startedAt) this.prefetch.finished(this.deps.clock.now() - run.startedAt);
    this.kick();
    this.hold.finished();
  }

  /** At each heartbeat: renews its hold on the queue's slots, if it has one. */
  renewSlots(): Promise<void> {
    return this.hold.renew();
  }

  /** Shutdown, once every handler settled: lets go of its slots. */
  releaseSlots(): Promise<void> {
    return this.hold.release();
  }

  finished(): void {
    if (!this.limitedShort) return;
    this.limitedShort = false;
    this.wake();
  }
}
