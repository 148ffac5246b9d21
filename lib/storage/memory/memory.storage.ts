import { Subject, type Observable } from 'rxjs';
import { systemClock, type Clock } from '../../core/clock.js';
import type { BatchInfo, BatchResult, EnqueueResult, FlowIds, JobRecord, NewBatch, NewFlowNode, NewJob } from '../../core/job-record.js';
import type {
  ClaimedEnqueue,
  CompleteItem,
  FailItem,
  HeartbeatResult,
  ListFilter,
  ListPage,
  OldestAvailable,
  PruneOptions,
  QueueStats,
  ThroughputMinute,
  ReleaseOptions,
  Storage,
} from '../../core/storage.js';
import type { QueueLimits, StoredQueueLimits } from '../../core/limits.js';
import { assertName } from '../../core/validation.js';
import { assertSlotRequest, type SlotGrant, type SlotRequest } from '../../core/slots.js';
import { MemoryAdmin } from './memory-admin.js';
import { MemoryBatches } from './memory-batches.js';
import { MemoryFlows } from './memory-flows.js';
import { MemoryLimits } from './memory-limits.js';
import { dueInClaimOrder, expireLease, handBack, heldBy, renewLeases, takeLease, unlock } from './memory-claims.js';
import { MemoryStats } from './memory-stats.js';
import { MemoryUniqueKeys } from './memory-unique-keys.js';
import { parseHeaders } from '../../core/headers.js';

export interface MemoryStorageOptions {
  clock?: Clock;
}

/**
 * Everything in one process's memory: for tests and scripts. Implements the full Storage
 * contract (single process, so "atomic" is simply synchronous). The class is the contract's
 * front; claim order and leases are in `memory-claims.ts`, unique keys in
 * `memory-unique-keys.ts`, counting in `memory-stats.ts`, list / cancel / retry / prune in
 * `memory-admin.ts`.
 */
export class MemoryStorage implements Storage {
  private readonly jobs = new Map<string, JobRecord>();
  private readonly paused = new Set<string>();
  private readonly limited = new MemoryLimits();
  private readonly counts = new MemoryStats();
  private readonly wake$ = new Subject<string>();
  private readonly keys: MemoryUniqueKeys;
  private readonly cancel$ = new Subject<string>();
  private nextId = 1;
  private readonly clock: Clock;
  private readonly admin: MemoryAdmin;
  private readonly flows: MemoryFlows;
  private readonly batches: MemoryBatches;

  constructor(options: MemoryStorageOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.keys = new MemoryUniqueKeys(this.jobs, this.clock);
    this.batches = new MemoryBatches(this.jobs, (jobs) => this.insert(jobs), this.wake$);
    this.flows = new MemoryFlows(this.jobs, this.clock, this.wake$, this.cancel$, (queue, now) => this.counts.died(queue, now), (job) => this.batches.finished(job));
    this.admin = new MemoryAdmin(this.jobs, this.keys, this.clock, this.wake$, this.cancel$, this.flows);
  }

  async init(): Promise<void> {}
  async close(): Promise<void> {}

  async now(): Promise<number> {
    return this.clock.now();
  }

  async enqueue(jobs: NewJob[]): Promise<EnqueueResult[]> {
    return this.insert(jobs);
  }

  private insert(jobs: NewJob[]): EnqueueResult[] {
    const now = this.clock.now();
    return jobs.map((job) => {
      if (job.uniqueKey) {
        const other = this.keys.holderOf(job.uniqueKey);
        if (other) return { id: other.id, duplicate: true };
      }
      const id = String(this.nextId++);
      if (job.uniqueKey) this.keys.hold(id, job.uniqueWhile ?? 'running', job.uniqueTtlMs ? now + job.uniqueTtlMs : null);
      const runAt = job.runAt ? job.runAt.getTime() : now + (job.delayMs ?? 0);
      this.jobs.set(id, {
        id,
        queue: job.queue,
        name: job.name,
        payload: JSON.parse(job.payload) as unknown,
        headers: parseHeaders(job.headers),
        state: runAt > now ? 'scheduled' : 'available',
        priority: job.priority,
        attempt: 0,
        maxAttempts: job.maxAttempts,
        runAt: new Date(runAt),
        createdAt: new Date(now),
        startedAt: null,
        completedAt: null,
        failedAt: null,
        lockedBy: null,
        lockedUntil: null,
        lastError: null,
        uniqueKey: job.uniqueKey ?? null,
        group: job.group ?? null,
        backoff: job.backoff ?? null,
        timeoutMs: job.timeoutMs ?? null,
        progress: null,
        progressData: null,
        result: null,
        cancelRequested: false,
        interruptions: 0,
        prefetched: false,
        rescuedUnstarted: false,
        parentId: null,
        batchId: null,
      });
      return { id, duplicate: false };
    });
  }

  /** See `Storage.enqueueFlow`: one synchronous step, so the tree is stored whole. */
  async enqueueFlow(root: NewFlowNode): Promise<FlowIds> {
    return this.flows.store(root, (node) => this.insert([node.job])[0]!.id);
  }

  async enqueueBatch(jobs: NewJob[], batch: NewBatch): Promise<BatchResult> {
    return this.batches.store(jobs, batch);
  }

  async getBatch(id: string): Promise<BatchInfo | null> {
    return this.batches.get(id);
  }

  async children(parentId: string): Promise<JobRecord[]> {
    return this.flows.children(String(parentId)).map((j) => structuredClone(j));
  }

  async enqueueClaimed(job: NewJob, workerId: string, leaseMs: number): Promise<ClaimedEnqueue> {
    const [result] = await this.enqueue([job]);
    const stored = this.jobs.get(result!.id)!;
    if (result!.duplicate || stored.state !== 'available' || this.paused.has(stored.queue) || this.limited.has(stored.queue)) return { result: result!, claimed: null };
    takeLease(stored, workerId, this.clock.now(), leaseMs); // a new job: attempt 0 → 1
    this.keys.track(stored);
    return { result: result!, claimed: structuredClone(stored) };
  }

  async claim(queue: string, workerId: string, limit: number, leaseMs: number, startNow = limit): Promise<JobRecord[]> {
    if (this.paused.has(queue) || limit <= 0) return [];
    const now = this.clock.now();
    return this.limited.claim(queue, this.jobs.values(), now, limit, startNow, (n, first, group) =>
      dueInClaimOrder(this.jobs.values(), queue, now, n, group).map((job, i) => {
        takeLease(job, workerId, now, leaseMs, i >= first);
        this.keys.track(job);
        return structuredClone(job);
      }),
    );
  }

  async complete(items: CompleteItem[]): Promise<string[]> {
    const now = this.clock.now();
    const held: string[] = [];
    for (const item of items) {
      const job = heldBy(this.jobs, item.id, item.workerId);
      if (!job) continue;
      job.state = 'completed';
      job.completedAt = new Date(now);
      job.result = item.result == null ? null : (JSON.parse(item.result) as unknown);
      unlock(job);
      this.counts.completed(job.queue, now);
      this.keys.track(job);
      this.flows.finished(job);
      held.push(item.id);
    }
    return held;
  }

  async fail(items: FailItem[]): Promise<string[]> {
    const now = this.clock.now();
    const held: string[] = [];
    for (const item of items) {
      const job = heldBy(this.jobs, item.id, item.workerId);
      if (!job) continue;
      job.lastError = item.error;
      if (item.interrupted) job.interruptions++;
      unlock(job);
      if (item.cancelled) {
        job.state = 'cancelled';
        job.failedAt = new Date(now);
      } else if (item.retryDelayMs === null) {
        job.state = 'dead';
        job.failedAt = new Date(now);
        this.counts.died(job.queue, now);
      } else {
        job.state = 'retryable';
        job.runAt = new Date(now + item.retryDelayMs);
      }
      this.keys.track(job);
      this.flows.finished(job);
      held.push(item.id);
    }
    return held;
  }

  async release(ids: string[], workerId: string, runAt?: Date, options: ReleaseOptions = {}): Promise<string[]> {
    return this.releaseNow(ids, workerId, runAt, options);
  }

  /** Both writes in one synchronous step, so nothing runs in between (see `Storage.snoozeWith`). */
  async snoozeWith(id: string, workerId: string, runAt: Date, jobs: NewJob[]): Promise<EnqueueResult[] | null> {
    const job = heldBy(this.jobs, id, workerId);
    if (!job) return null;
    // Cancelled while it ran (an unschedule() during a tick): it ends cancelled, and stores nothing.
    const results = job.cancelRequested ? [] : this.insert(jobs);
    this.releaseNow([id], workerId, runAt, {});
    return results;
  }

  private releaseNow(ids: string[], workerId: string, runAt: Date | undefined, options: ReleaseOptions): string[] {
    const held: string[] = [];
    const now = this.clock.now();
    for (const id of ids) {
      const job = heldBy(this.jobs, id, workerId);
      if (!job) continue;
      handBack(job, now, runAt, options.interrupted === true);
      this.keys.track(job);
      this.flows.finished(job);
      held.push(id);
    }
    if (held.length) this.wake$.next(this.jobs.get(held[0]!)!.queue);
    return held;
  }

  async heartbeat(ids: string[], workerId: string, leaseMs: number, started: string[] = []): Promise<HeartbeatResult> {
    return renewLeases(this.jobs, ids, workerId, new Date(this.clock.now() + leaseMs), started);
  }

  async rescue(limit = 1000): Promise<number> {
    const now = this.clock.now();
    let moved = 0;
    for (const job of this.jobs.values()) {
      if (moved >= limit) break;
      if (job.state !== 'running' || !job.lockedUntil || job.lockedUntil.getTime() > now) continue;
      moved++;
      if (expireLease(job, now) === 'dead') this.counts.died(job.queue, now);
      this.keys.track(job);
      this.flows.finished(job);
    }
    return moved + this.flows.repair();
  }

  async progress(id: string, workerId: string, percent: number, data?: string | null): Promise<void> {
    const job = heldBy(this.jobs, id, workerId);
    if (!job) return;
    job.progress = percent;
    if (data !== undefined) job.progressData = data === null ? null : (JSON.parse(data) as unknown);
  }

  async get(id: string): Promise<JobRecord | null> {
    const job = this.jobs.get(String(id));
    return job ? structuredClone(job) : null;
  }

  async findByUniqueKey(uniqueKey: string): Promise<JobRecord | null> {
    const job = this.keys.holderOf(uniqueKey);
    return job ? structuredClone(job) : null;
  }

  async list(filter: ListFilter): Promise<ListPage> {
    return this.admin.list(filter);
  }

  async cancel(id: string): Promise<JobRecord | null> {
    return this.admin.cancel(id);
  }

  async runNow(id: string): Promise<JobRecord | null> {
    return this.admin.runNow(id);
  }

  async retry(id: string): Promise<JobRecord | null> {
    return this.admin.retry(id);
  }

  async stats(): Promise<QueueStats[]> {
    return this.counts.read(this.jobs.values(), this.paused, this.clock.now());
  }

  async throughput(): Promise<ThroughputMinute[]> {
    return this.counts.throughput(this.clock.now());
  }

  async oldestAvailable(queues: string[]): Promise<OldestAvailable[]> {
    return this.counts.oldestAvailable(this.jobs.values(), [...new Set(queues)], this.clock.now());
  }

  /** Nothing to repair: `stats()` counts the jobs themselves. */
  async recount(): Promise<number> {
    return 0;
  }

  async pause(queue: string): Promise<void> {
    this.paused.add(queue);
  }

  async resume(queue: string): Promise<void> {
    this.paused.delete(queue);
    this.wake$.next(queue);
  }

  async pausedQueues(): Promise<string[]> {
    return [...this.paused];
  }

  async setLimits(queue: string, limits: QueueLimits): Promise<void> {
    this.limited.set(queue, limits);
    this.wake$.next(queue);
  }

  isLimited(queue: string): boolean {
    return this.limited.has(queue);
  }

  async holdSlots(queue: string, workerId: string, request: SlotRequest): Promise<SlotGrant | null> {
    return this.limited.holdSlots(assertName('queue name', queue), workerId, assertSlotRequest(request), this.clock.now());
  }

  async limits(): Promise<StoredQueueLimits[]> {
    return this.limited.list();
  }

  async blockQueue(queue: string, ms: number, group?: string | null): Promise<void> {
    this.limited.block(queue, this.clock.now() + ms, group ?? null);
  }

  async prune(options: PruneOptions): Promise<number> {
    return this.admin.prune(options);
  }

  wakeups(): Observable<string> {
    return this.wake$.asObservable();
  }

  cancellations(): Observable<string> {
    return this.cancel$.asObservable();
  }
}
