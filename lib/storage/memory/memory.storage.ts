import { Subject, type Observable } from 'rxjs';
import { systemClock, type Clock } from '../../core/clock.js';
import type { EnqueueResult, JobRecord, JobState, NewJob } from '../../core/job-record.js';
import { PENDING_STATES, UNIQUE_STATES, type UniqueWhile } from '../../core/job-record.js';
import type {
  ClaimedEnqueue,
  CompleteItem,
  FailItem,
  HeartbeatResult,
  ListFilter,
  ListPage,
  PruneOptions,
  QueueStats,
  Storage,
} from '../../core/storage.js';
import { InvalidOptionsError } from '../../errors/invalid-options.error.js';
import { emptyStats, PeriodCounter } from './period-counter.js';

export interface MemoryStorageOptions {
  clock?: Clock;
}

const pending = new Set<JobState>(PENDING_STATES);
const finished = new Set<JobState>(['completed', 'dead', 'cancelled']);

/**
 * Everything in one process's memory: for tests and scripts. Implements the full Storage
 * contract (single process, so "atomic" is simply synchronous).
 */
export class MemoryStorage implements Storage {
  private readonly jobs = new Map<string, JobRecord>();
  private readonly paused = new Set<string>();
  private readonly completedCounts = new Map<string, PeriodCounter>();
  private readonly diedCounts = new Map<string, PeriodCounter>();
  private readonly wake$ = new Subject<string>();
  private readonly uniqueWhile = new Map<string, UniqueWhile>();
  /** Jobs that gave their unique key up (left their unique states); they never take it back on their own. */
  private readonly keyReleased = new Set<string>();
  private readonly cancel$ = new Subject<string>();
  private nextId = 1;
  private readonly clock: Clock;

  constructor(options: MemoryStorageOptions = {}) {
    this.clock = options.clock ?? systemClock;
  }

  async init(): Promise<void> {}
  async close(): Promise<void> {}

  async now(): Promise<number> {
    return this.clock.now();
  }

  async enqueue(jobs: NewJob[]): Promise<EnqueueResult[]> {
    const now = this.clock.now();
    return jobs.map((job) => {
      if (job.uniqueKey) {
        const other = this.holderOf(job.uniqueKey);
        if (other) return { id: other.id, duplicate: true };
      }
      const id = String(this.nextId++);
      if (job.uniqueKey) this.uniqueWhile.set(id, job.uniqueWhile ?? 'running');
      const runAt = job.runAt ? job.runAt.getTime() : now + (job.delayMs ?? 0);
      this.jobs.set(id, {
        id,
        queue: job.queue,
        name: job.name,
        payload: JSON.parse(job.payload) as unknown,
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
        backoff: job.backoff ?? null,
        timeoutMs: job.timeoutMs ?? null,
        progress: null,
        progressData: null,
        result: null,
        cancelRequested: false,
      });
      return { id, duplicate: false };
    });
  }

  async enqueueClaimed(job: NewJob, workerId: string, leaseMs: number): Promise<ClaimedEnqueue> {
    const [result] = await this.enqueue([job]);
    const stored = this.jobs.get(result!.id)!;
    if (result!.duplicate || stored.state !== 'available' || this.paused.has(stored.queue)) return { result: result!, claimed: null };
    const now = this.clock.now();
    stored.state = 'running';
    stored.attempt = 1;
    stored.lockedBy = workerId;
    stored.lockedUntil = new Date(now + leaseMs);
    stored.startedAt = new Date(now);
    this.trackUnique(stored);
    return { result: result!, claimed: structuredClone(stored) };
  }

  async claim(queue: string, workerId: string, limit: number, leaseMs: number): Promise<JobRecord[]> {
    if (this.paused.has(queue) || limit <= 0) return [];
    const now = this.clock.now();
    const due: JobRecord[] = [];
    for (const job of this.jobs.values()) {
      if (job.queue === queue && pending.has(job.state) && job.runAt.getTime() <= now) due.push(job);
    }
    due.sort((a, b) => a.priority - b.priority || a.runAt.getTime() - b.runAt.getTime() || Number(a.id) - Number(b.id));
    return due.slice(0, limit).map((job) => {
      job.state = 'running';
      job.attempt += 1;
      job.lockedBy = workerId;
      job.lockedUntil = new Date(now + leaseMs);
      job.startedAt = new Date(now);
      this.trackUnique(job);
      return structuredClone(job);
    });
  }

  async complete(items: CompleteItem[]): Promise<string[]> {
    const now = this.clock.now();
    const held: string[] = [];
    for (const item of items) {
      const job = this.held(item.id, item.workerId);
      if (!job) continue;
      job.state = 'completed';
      job.completedAt = new Date(now);
      job.result = item.result == null ? null : (JSON.parse(item.result) as unknown);
      this.unlock(job);
      this.counter(this.completedCounts, job.queue).add(now);
      this.trackUnique(job);
      held.push(item.id);
    }
    return held;
  }

  async fail(items: FailItem[]): Promise<string[]> {
    const now = this.clock.now();
    const held: string[] = [];
    for (const item of items) {
      const job = this.held(item.id, item.workerId);
      if (!job) continue;
      job.lastError = item.error;
      this.unlock(job);
      if (item.cancelled) {
        job.state = 'cancelled';
        job.failedAt = new Date(now);
      } else if (item.retryDelayMs === null) {
        job.state = 'dead';
        job.failedAt = new Date(now);
        this.counter(this.diedCounts, job.queue).add(now);
      } else {
        job.state = 'retryable';
        job.runAt = new Date(now + item.retryDelayMs);
      }
      this.trackUnique(job);
      held.push(item.id);
    }
    return held;
  }

  async release(ids: string[], workerId: string, runAt?: Date): Promise<string[]> {
    const held: string[] = [];
    const now = this.clock.now();
    for (const id of ids) {
      const job = this.held(id, workerId);
      if (!job) continue;
      if (job.cancelRequested) {
        // Cancelled while it ran (an unschedule() during a tick): it ends here, never to run again.
        job.state = 'cancelled';
        job.failedAt = new Date(now);
      } else if (runAt) {
        // A time already past still replaces the old one: a schedule row's next tick, late.
        job.state = runAt.getTime() > now ? 'scheduled' : 'available';
        job.runAt = new Date(runAt.getTime());
      } else {
        job.state = 'available';
      }
      job.attempt = Math.max(0, job.attempt - 1);
      this.unlock(job);
      this.trackUnique(job);
      held.push(id);
    }
    if (held.length) this.wake$.next(this.jobs.get(held[0]!)!.queue);
    return held;
  }

  async heartbeat(ids: string[], workerId: string, leaseMs: number): Promise<HeartbeatResult> {
    const until = new Date(this.clock.now() + leaseMs);
    const lost: string[] = [];
    const cancelled: string[] = [];
    for (const id of ids) {
      const job = this.held(id, workerId);
      if (!job) {
        lost.push(id);
        continue;
      }
      job.lockedUntil = until;
      if (job.cancelRequested) cancelled.push(id);
    }
    return { lost, cancelled };
  }

  async rescue(limit = 1000): Promise<number> {
    const now = this.clock.now();
    let moved = 0;
    for (const job of this.jobs.values()) {
      if (moved >= limit) break;
      if (job.state !== 'running' || !job.lockedUntil || job.lockedUntil.getTime() > now) continue;
      const cancelRequested = job.cancelRequested;
      this.unlock(job);
      moved++;
      if (cancelRequested) {
        job.state = 'cancelled';
        job.failedAt = new Date(now);
      } else if (job.maxAttempts !== null && job.attempt >= job.maxAttempts) {
        job.state = 'dead';
        job.failedAt = new Date(now);
        job.lastError = { name: 'LeaseExpired', message: 'The worker running this job stopped renewing its lease (crashed or stalled), and no attempts are left.', attempt: job.attempt, at: new Date(now).toISOString() };
        this.counter(this.diedCounts, job.queue).add(now);
      } else {
        job.state = 'available';
        job.runAt = new Date(now);
      }
      this.trackUnique(job);
    }
    return moved;
  }

  async progress(id: string, workerId: string, percent: number, data?: string | null): Promise<void> {
    const job = this.held(id, workerId);
    if (!job) return;
    job.progress = percent;
    if (data !== undefined) job.progressData = data === null ? null : (JSON.parse(data) as unknown);
  }

  async get(id: string): Promise<JobRecord | null> {
    const job = this.jobs.get(String(id));
    return job ? structuredClone(job) : null;
  }

  async findByUniqueKey(uniqueKey: string): Promise<JobRecord | null> {
    const job = this.holderOf(uniqueKey);
    return job ? structuredClone(job) : null;
  }

  async list(filter: ListFilter): Promise<ListPage> {
    const limit = filter.limit ?? 100;
    const after = filter.cursor ? Number(filter.cursor) : Infinity;
    if (Number.isNaN(after)) throw new InvalidOptionsError('cursor', 'not a cursor returned by list()');
    const jobs = [...this.jobs.values()]
      .filter((j) => (!filter.queue || j.queue === filter.queue) && (!filter.state || j.state === filter.state) && (!filter.name || j.name === filter.name))
      .filter((j) => Number(j.id) < after)
      .sort((a, b) => Number(b.id) - Number(a.id))
      .slice(0, limit + 1);
    const page = jobs.slice(0, limit).map((j) => structuredClone(j));
    return { jobs: page, nextCursor: jobs.length > limit ? page[page.length - 1]!.id : null };
  }

  async cancel(id: string): Promise<JobRecord | null> {
    const job = this.jobs.get(String(id));
    if (!job) return null;
    if (pending.has(job.state)) {
      job.state = 'cancelled';
      job.failedAt = new Date(this.clock.now());
      this.trackUnique(job);
    } else if (job.state === 'running' && !job.cancelRequested) {
      job.cancelRequested = true;
      this.cancel$.next(job.id);
    }
    return structuredClone(job);
  }

  async retry(id: string): Promise<JobRecord | null> {
    const job = this.jobs.get(String(id));
    if (!job) return null;
    if (job.state === 'running' || pending.has(job.state)) return structuredClone(job);
    job.state = 'available';
    job.attempt = 0;
    job.runAt = new Date(this.clock.now());
    job.completedAt = null;
    job.failedAt = null;
    job.cancelRequested = false;
    // Takes its unique key back only if no other job holds it meanwhile.
    if (job.uniqueKey && this.keyReleased.has(job.id) && !this.holderOf(job.uniqueKey)) this.keyReleased.delete(job.id);
    const copy = structuredClone(job);
    this.wake$.next(job.queue);
    return copy;
  }

  async stats(): Promise<QueueStats[]> {
    const now = this.clock.now();
    const byQueue = new Map<string, QueueStats>();
    const get = (queue: string) => {
      let s = byQueue.get(queue);
      if (!s) byQueue.set(queue, (s = emptyStats(queue, this.paused.has(queue))));
      return s;
    };
    for (const job of this.jobs.values()) {
      const s = get(job.queue);
      if (pending.has(job.state)) job.runAt.getTime() <= now ? s.available++ : s.scheduled++;
      else if (job.state === 'running') s.running++;
      else if (job.state === 'dead') s.dead++;
    }
    for (const [queue, c] of this.completedCounts) get(queue).completed = c.read(now);
    for (const [queue, c] of this.diedCounts) get(queue).died = c.read(now);
    for (const queue of this.paused) get(queue);
    return [...byQueue.values()].sort((a, b) => a.queue.localeCompare(b.queue));
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

  async prune(options: PruneOptions): Promise<number> {
    const before = options.olderThan.getTime();
    const states = new Set(options.states);
    let removed = 0;
    for (const [id, job] of this.jobs) {
      if (!states.has(job.state) || !finished.has(job.state)) continue;
      const at = (job.completedAt ?? job.failedAt ?? job.createdAt).getTime();
      if (at < before) {
        this.jobs.delete(id);
        this.uniqueWhile.delete(id);
        this.keyReleased.delete(id);
        removed++;
      }
    }
    return removed;
  }

  wakeups(): Observable<string> {
    return this.wake$.asObservable();
  }

  cancellations(): Observable<string> {
    return this.cancel$.asObservable();
  }

  private holderOf(uniqueKey: string): JobRecord | undefined {
    for (const other of this.jobs.values()) {
      if (other.uniqueKey !== uniqueKey || this.keyReleased.has(other.id)) continue;
      const states = UNIQUE_STATES[this.uniqueWhile.get(other.id) ?? 'running'];
      if (states.includes(other.state)) return other;
    }
    return undefined;
  }

  /** After a state change: a job out of its unique states gives its key up for good. */
  private trackUnique(job: JobRecord): void {
    const mode = this.uniqueWhile.get(job.id);
    if (mode && !UNIQUE_STATES[mode].includes(job.state)) this.keyReleased.add(job.id);
  }

  private held(id: string, workerId: string): JobRecord | undefined {
    const job = this.jobs.get(id);
    return job && job.state === 'running' && job.lockedBy === workerId ? job : undefined;
  }

  private unlock(job: JobRecord): void {
    job.lockedBy = null;
    job.lockedUntil = null;
    job.cancelRequested = false;
  }

  private counter(map: Map<string, PeriodCounter>, queue: string): PeriodCounter {
    let c = map.get(queue);
    if (!c) map.set(queue, (c = new PeriodCounter()));
    return c;
  }
}
