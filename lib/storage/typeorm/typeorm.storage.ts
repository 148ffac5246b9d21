import type { EnqueueResult, JobRecord, JobState, NewJob } from '../../core/job-record.js';
import type {
  ClaimedEnqueue,
  CompleteItem,
  EnqueueStorageOptions,
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
import { assertName } from '../../core/validation.js';
import { InvalidOptionsError } from '../../errors/invalid-options.error.js';
import type { DataSourceStorageConfig, ServerStorageConfig, SqliteStorageConfig } from '../storage-options.js';
import type { ReleasedRows } from './dialect.js';
import { TypeOrmLimitStorage } from './typeorm-limit-storage.js';
import { EnqueuePlan, insertPlanned, toInsertRow } from './enqueue-plan.js';
import { step, type Row, type Step } from './flow.js';
import { limitFlows } from './dialects/limit-flows.js';
import { byClaimOrder, isJobId, toJobRecord } from './job-row.js';
import { buildStats, buildThroughput, counterWindow } from './stats.js';
import { setupFromConfig, setupFromDataSource } from './storage-setup.js';
import { assertManagerOf } from './typeorm-options.js';

const FINISHED: ReadonlySet<JobState> = new Set(['completed', 'dead', 'cancelled']);
const LEASE_EXPIRED =
  'The worker running this job stopped renewing its lease (crashed or stalled), and no attempts are left.';

/** Thrown inside `completeWithin`'s transaction to roll it back when the lease was lost. */
class LeaseLost {
  constructor(readonly value: unknown) {}
}

/**
 * The Storage contract on TypeORM: SQLite (the embedded default), PostgreSQL and MariaDB.
 * Hot paths are raw parameterized SQL from a dialect (see `dialects/`), run by an executor
 * that knows the database's concurrency rules (see `executors/`); nothing hydrates entities.
 * The connection and its lifecycle are `TypeOrmConnection`'s; flows and batches `TypeOrmFlowStorage`'s.
 */
export class TypeOrmStorage extends TypeOrmLimitStorage implements Storage {
  /** A storage with its own DataSource, destroyed by `close()`. */
  static async fromConfig(cfg: SqliteStorageConfig | ServerStorageConfig): Promise<TypeOrmStorage> {
    return new TypeOrmStorage(setupFromConfig(cfg));
  }

  /** A storage on the app's DataSource (initialized by the app, never destroyed by us). */
  static async fromDataSource(dataSource: unknown, cfg: DataSourceStorageConfig): Promise<TypeOrmStorage> {
    return new TypeOrmStorage(setupFromDataSource(dataSource, cfg));
  }

  async now(): Promise<number> {
    return this.run(this.dialect.now());
  }

  async enqueue(jobs: NewJob[], options: EnqueueStorageOptions = {}): Promise<EnqueueResult[]> {
    if (!jobs.length) return [];
    const plan = new EnqueuePlan(jobs.map(toInsertRow));
    const manager = options.manager === undefined || options.manager === null ? null : assertManagerOf(this.dataSource, options.manager);
    if (manager) await insertPlanned(plan, this.dialect, (s) => this.exec().runOn(manager, s));
    else if (plan.chunks(this.dialect.maxRowsPerStatement).length > 1) {
      // Several statements: one transaction, so a failure stores none of the batch.
      await this.exec().transaction((_m, run) => insertPlanned(plan, this.dialect, run));
    } else await insertPlanned(plan, this.dialect, (s) => this.run(s));
    this.wrote();
    const results = plan.finish();
    // Committed now (a caller's transaction is not: its jobs wait for the poll or NOTIFY).
    if (!manager) this.wakeDue(plan, results);
    return results;
  }

  /**
   * Only jobs due at once wake this process's listeners here; its own delayed jobs wake its
   * workers through the producer, and on PostgreSQL the statement's NOTIFY tells everyone.
   */
  private wakeDue(plan: EnqueuePlan, results: EnqueueResult[]): void {
    const due = plan.rows.filter((r, i) => !results[i]!.duplicate && r.runAt === null && r.delayMs === 0);
    for (const queue of new Set(due.map((r) => r.queue))) this.signals.wake(queue);
  }

  /**
   * See `Storage.snoozeWith`: the guarded release, then the INSERT, in one transaction. When
   * the lease is gone the release changes nothing and nothing is inserted; when the release
   * ends the job cancelled (an `unschedule()` came while it ran: the release reads the request
   * under the row's write lock, so a cancel either committed before it or finds the job
   * waiting again) nothing is inserted either; when the INSERT fails (or stores fewer jobs
   * than given) the release rolls back with it.
   */
  async snoozeWith(id: string, workerId: string, runAt: Date, jobs: NewJob[]): Promise<EnqueueResult[] | null> {
    if (!isJobId(id)) return null;
    const plan = new EnqueuePlan(jobs.map(toInsertRow));
    const results = await this.exec().transaction(async (_manager, run) => {
      const released = await run(this.dialect.release([id], workerId, runAt, false));
      if (!released.held.length) return null;
      if (released.cancelled.length) return [];
      await insertPlanned(plan, this.dialect, run);
      return plan.finish();
    });
    if (!results) return null;
    this.wrote();
    if (results.length) this.wakeDue(plan, results);
    return results;
  }

  /**
   * See `Storage.enqueueClaimed`. A job that needs the general path (a unique key, a due
   * time) is stored waiting (`claimed: null`).
   */
  async enqueueClaimed(job: NewJob, workerId: string, leaseMs: number): Promise<ClaimedEnqueue> {
    const row = toInsertRow(job);
    if (!this.dialect.insertClaimed || row.uniqueKey !== null || row.group !== null || row.runAt !== null || row.delayMs !== 0 || (await this.limited.has(row.queue))) {
      const [result] = await this.enqueue([job]);
      return { result: result!, claimed: null };
    }
    const stored = toJobRecord(await this.run(this.dialect.insertClaimed(row, workerId, Math.round(leaseMs))));
    this.wrote();
    return { result: { id: stored.id, duplicate: false }, claimed: stored.state === 'running' ? stored : null };
  }

  async claim(queue: string, workerId: string, limit: number, leaseMs: number, startNow = limit): Promise<JobRecord[]> {
    if (limit <= 0) return [];
    const n = Math.floor(limit);
    const first = Math.max(0, Math.min(n, Math.floor(startNow)));
    const limited = await this.limited.has(queue);
    let rows: Row[] = [];
    // A global concurrency alone: one statement, which takes nothing when the queue is blocked
    // or has other limits now; an empty answer takes the limited claim, which says for sure.
    if (limited && this.dialect.claimUnlessLimited && this.limited.onlyGlobalConcurrency(queue)) {
      rows = await this.run(this.dialect.claimUnlessLimited(queue, workerId, n, Math.round(leaseMs), first));
    }
    if (!rows.length) rows = await this.run((limited ? limitFlows(this.dialect) : this.dialect).claim(queue, workerId, n, Math.round(leaseMs), first));
    if (rows.length) this.wrote();
    return rows.map(toJobRecord).sort(byClaimOrder);
  }

  async complete(items: CompleteItem[]): Promise<string[]> {
    const valid = items.filter((i) => isJobId(i.id)).map((i) => ({ id: i.id, workerId: i.workerId, result: i.result ?? null }));
    // Jobs in no flow or batch: one statement, as before flows existed (the hot path).
    if (items.every((i) => i.linked === false)) return this.batched(valid, (chunk) => this.dialect.complete(chunk));
    return this.settling((done) => this.batched(valid, (chunk) => this.links.after(this.dialect.complete(chunk), done)));
  }

  async fail(items: FailItem[]): Promise<string[]> {
    const valid = items.filter((i) => isJobId(i.id)).map((i) => ({
      id: i.id,
      workerId: i.workerId,
      error: JSON.stringify(i.error),
      retryDelayMs: i.retryDelayMs === null ? null : Math.max(0, Math.round(i.retryDelayMs)),
      cancelled: i.cancelled === true,
      interrupted: i.interrupted === true,
    }));
    if (items.every((i) => i.linked === false)) return this.batched(valid, (chunk) => this.dialect.fail(chunk));
    return this.settling((done) => this.batched(valid, (chunk) => this.links.after(this.dialect.fail(chunk), done)));
  }

  async release(ids: string[], workerId: string, runAt?: Date, options: ReleaseOptions = {}): Promise<string[]> {
    const valid = ids.filter(isJobId);
    return this.settling((done) =>
      this.batched(valid, (chunk) => this.links.after(heldOf(this.dialect.release(chunk, workerId, runAt ?? null, options.interrupted === true)), done)),
    );
  }

  async heartbeat(ids: string[], workerId: string, leaseMs: number, started: string[] = []): Promise<HeartbeatResult> {
    const held = new Set<string>();
    const cancelled: string[] = [];
    const valid = [...new Set(ids.filter(isJobId))];
    const startedSet = new Set(started);
    for (let i = 0; i < valid.length; i += this.dialect.maxRowsPerStatement) {
      const chunk = valid.slice(i, i + this.dialect.maxRowsPerStatement);
      const res = await this.run(this.dialect.heartbeat(chunk, workerId, Math.round(leaseMs), startedSet.size ? chunk.filter((id) => startedSet.has(id)) : []));
      res.held.forEach((id) => held.add(id));
      cancelled.push(...res.cancelled);
    }
    return { lost: ids.filter((id) => !held.has(id)), cancelled };
  }

  /** Also folds the count deltas: rescue is the maintenance every worker instance runs. */
  async rescue(limit = 1000): Promise<number> {
    const n = Math.max(1, Math.floor(limit));
    const moved = await this.settling(async (done) => {
      // The rescued jobs are counted into their flow parents in the rescue's transaction: the
      // repair step counts every finished, uncounted child (the ones just rescued among them).
      const rescue = this.dialect.rescue(n, LEASE_EXPIRED);
      const repair = this.links.repair(n, done);
      return this.run(step(rescue.mode === 'tx-read-committed' ? rescue.mode : 'tx', function* () {
        return (yield* rescue.make()) + (yield* repair.make());
      }));
    });
    await this.foldCounters();
    return moved;
  }

  /**
   * Folds count deltas into the counters (bounded batches), moves due pending buckets into
   * bucket 0, and drops counter buckets no period reads any more. Runs by itself (see
   * `FoldScheduler`); public for tests and scripts. Returns how many deltas it folded.
   */
  foldCounters(): Promise<number> {
    return this.folds.fold();
  }

  /** See `Storage.recount` and `dialects/recount-statements.ts`. */
  async recount(): Promise<number> {
    return this.run(this.dialect.recount());
  }

  async progress(id: string, workerId: string, percent: number, data?: string | null): Promise<void> {
    if (!isJobId(id)) return;
    await this.run(this.dialect.progress(id, workerId, percent, data));
  }

  async get(id: string): Promise<JobRecord | null> {
    const key = String(id);
    if (!isJobId(key)) return null;
    const row = await this.run(this.dialect.get(key));
    return row ? toJobRecord(row) : null;
  }

  async findByUniqueKey(uniqueKey: string): Promise<JobRecord | null> {
    const row = await this.run(this.dialect.findByUniqueKey(uniqueKey));
    return row ? toJobRecord(row) : null;
  }

  async list(filter: ListFilter): Promise<ListPage> {
    const limit = Math.max(1, Math.min(1000, Math.floor(filter.limit ?? 100)));
    const cursor = filter.cursor ?? null;
    if (cursor !== null && !isJobId(cursor)) throw new InvalidOptionsError('cursor', 'not a cursor returned by list()');
    const rows = await this.run(this.dialect.list({ queue: filter.queue, state: filter.state, name: filter.name, parentId: filter.parentId, batchId: filter.batchId }, limit + 1, cursor));
    const jobs = rows.slice(0, limit).map(toJobRecord);
    return { jobs, nextCursor: rows.length > limit ? jobs[jobs.length - 1]!.id : null };
  }

  async cancel(id: string): Promise<JobRecord | null> {
    const key = String(id);
    if (!isJobId(key)) return null;
    const row = await this.settling((done) => this.run(this.links.cancel(key, this.dialect.cancel(key), done)));
    const job = row ? toJobRecord(row) : null;
    if (job?.cancelRequested) this.signals.cancelled(job.id);
    return job;
  }

  async runNow(id: string): Promise<JobRecord | null> {
    const key = String(id);
    if (!isJobId(key)) return null;
    const row = await this.run(this.dialect.runNow(key));
    const job = row ? toJobRecord(row) : null;
    if (job?.state === 'available') this.signals.wake(job.queue);
    return job;
  }

  /** See `Storage.retry`; a flow parent that ended while it waited waits again (`dialects/flow-retry.ts`). */
  async retry(id: string): Promise<JobRecord | null> {
    const key = String(id);
    if (!isJobId(key)) return null;
    const row = await this.settling((done) => this.run(this.links.retry(key, this.dialect.retry(key), done)));
    const job = row ? toJobRecord(row) : null;
    if (job?.state === 'available') this.signals.wake(job.queue);
    return job;
  }

  /**
   * O(queues): roll-up counters kept exact by the writes themselves, plus the deltas not
   * folded yet, plus a count bounded by one minute of future work (see README, "Stats").
   */
  async stats(): Promise<QueueStats[]> {
    const at = await this.now();
    const window = counterWindow(at);
    const [rows, paused] = await Promise.all([this.run(this.dialect.statsRows(at, window)), this.run(this.dialect.pausedQueues())]);
    return buildStats(rows, paused, at, window);
  }

  /** The minute buckets `stats()` reads for "last hour", per minute instead of summed. */
  async throughput(): Promise<ThroughputMinute[]> {
    const at = await this.now();
    const window = counterWindow(at);
    return buildThroughput(await this.run(this.dialect.statsRows(at, window)), window);
  }

  /** A few claim-index probes per queue with due work (see `Dialect.oldestAvailable`). */
  async oldestAvailable(queues: string[]): Promise<OldestAvailable[]> {
    const wanted = [...new Set(queues)];
    if (!wanted.length) return [];
    const { now, oldest } = await this.run(this.dialect.oldestAvailable(wanted));
    return wanted.flatMap((queue) => {
      const runAt = oldest.get(queue);
      return runAt ? [{ queue, runAt, ageMs: Math.max(0, now - runAt.getTime()) }] : [];
    });
  }

  async pause(queue: string): Promise<void> {
    await this.run(this.dialect.pause(assertName('queue name', queue)));
  }

  async resume(queue: string): Promise<void> {
    await this.run(this.dialect.resume(assertName('queue name', queue)));
    this.signals.wake(queue);
  }

  async pausedQueues(): Promise<string[]> {
    return this.run(this.dialect.pausedQueues());
  }

  /** Bounded batches until a batch comes back short; then drops counter buckets no one reads. */
  async prune(options: PruneOptions): Promise<number> {
    const states = [...new Set(options.states)].filter((s) => FINISHED.has(s));
    const batch = Math.max(1, Math.floor(options.batchSize ?? 1000));
    let removed = 0;
    for (const state of states) {
      for (;;) {
        const n = await this.run(this.dialect.prune(options.olderThan, state, batch, options.queue ?? null));
        removed += n;
        if (n < batch) break;
      }
    }
    await this.foldCounters();
    return removed;
  }

  async completeWithin<T>(
    id: string,
    workerId: string,
    work: (manager: unknown) => Promise<T>,
    toResult: (value: T) => string | null,
  ): Promise<{ held: boolean; value: T }> {
    try {
      return await this.settling((done) => this.exec().transaction(async (manager, run) => {
        const value = await work(manager);
        const held = isJobId(id) ? await run(this.links.after(this.dialect.complete([{ id, workerId, result: toResult(value) }]), done)) : [];
        if (!held.length) throw new LeaseLost(value);
        return { held: true, value };
      }));
    } catch (err) {
      if (err instanceof LeaseLost) return { held: false, value: err.value as T };
      throw err;
    }
  }
}

/** The ids a release found held (what `Storage.release` returns). */
function heldOf(released: Step<ReleasedRows>): Step<string[]> {
  return step(released.mode, function* () {
    return (yield* released.make()).held;
  });
}
