import { afterEach, describe, expect, it } from 'vitest';
import { Job, JobsModule, JobTimeoutError, MaxRetries, MemoryStorage, Processor, type CompleteItem, type HeartbeatResult, type JobContext } from '../../lib/index.js';
import { EventLog } from '../fixtures/event-log.js';
import { deferred, flush, type Deferred } from '../fixtures/deferred.js';
import { closeAppsAfterEach, queueOf, startApp } from '../fixtures/app.js';
import { systemClock, type Clock } from '../../lib/core/clock.js';

/** Signals of the handlers that ran, by job id. */
const signals = new Map<string, AbortSignal>();

@Processor({ queue: 'commit', maxRetries: MaxRetries.count(3) })
class CommitProcessor {
  @Job('in-tx', { transaction: true })
  inTx(_payload: unknown, ctx: JobContext) {
    signals.set(ctx.id, ctx.signal);
    return 'done';
  }

  @Job('batched')
  batched(_payload: unknown, ctx: JobContext) {
    signals.set(ctx.id, ctx.signal);
    return 'done';
  }

  /** Ignores its 20 ms timeout and commits well after the abort grace. */
  @Job('overtime', { transaction: true, timeout: 20 })
  async overtime(_payload: unknown, ctx: JobContext) {
    signals.set(ctx.id, ctx.signal);
    await new Promise((resolve) => setTimeout(resolve, 120));
    return 'late';
  }

  /** Works until its signal aborts. */
  @Job('until-aborted', { transaction: true })
  async untilAborted(_payload: unknown, ctx: JobContext) {
    signals.set(ctx.id, ctx.signal);
    started.resolve(ctx.id);
    await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
    return 'stopped';
  }
}

let started: Deferred<string> = deferred();

/** The storage's clock runs this far ahead of the worker's while a job is taken over. */
let skewMs = 0;
const storageClock: Clock = { ...systemClock, now: () => Date.now() + skewMs };

/**
 * Another worker takes the job over: its lease seen as expired, the rescuer returns it, and
 * the other worker claims it, all before this worker's next turn of the event loop.
 */
async function stealJob(storage: MemoryStorage, id: string): Promise<void> {
  skewMs = 3_600_000;
  try {
    expect(await storage.rescue()).toBe(1);
    expect(await storage.claim('commit', 'another-worker', 1, 60_000)).toMatchObject([{ id }]);
  } finally {
    skewMs = 0;
  }
}

/**
 * The memory storage with PostgreSQL's row locks around a completion (a batch, or the one
 * inside a `transaction: true` job's transaction): the write holds the jobs' rows until its
 * commit; a heartbeat that includes one of them waits for that commit, then finds the job
 * completed (held by no one), and its answer reaches the worker before the commit's.
 * `duringCommit` runs while the rows are held.
 */
class RowLockStorage extends MemoryStorage {
  duringCommit: (id: string) => Promise<void> = async () => undefined;
  /** Resolves when a heartbeat waits on a row held by an open transaction. */
  heartbeatBlocked: Deferred = deferred();
  private readonly rowLocks = new Map<string, Promise<void>>();

  override async heartbeat(ids: string[], workerId: string, leaseMs: number): Promise<HeartbeatResult> {
    const locked = ids.flatMap((id) => this.rowLocks.get(id) ?? []);
    if (locked.length) {
      this.heartbeatBlocked.resolve();
      await Promise.all(locked);
    }
    return super.heartbeat(ids, workerId, leaseMs);
  }

  override async complete(items: CompleteItem[]): Promise<string[]> {
    const commit = deferred();
    for (const { id } of items) this.rowLocks.set(id, commit.promise);
    try {
      for (const { id } of items) await this.duringCommit(id);
      return await super.complete(items);
    } finally {
      for (const { id } of items) this.rowLocks.delete(id);
      commit.resolve();
      // The blocked heartbeat's answer is handled before the commit's.
      await flush();
    }
  }

  async completeWithin<T>(
    id: string,
    workerId: string,
    work: (manager: unknown) => Promise<T>,
    toResult: (value: T) => string | null,
  ): Promise<{ held: boolean; value: T }> {
    const value = await work(undefined);
    const held = await this.complete([{ id, workerId, result: toResult(value) }]);
    return { held: held.length === 1, value };
  }
}

async function start(storage: RowLockStorage) {
  const app = await startApp({
    imports: [
      JobsModule.forRoot({
        storage: { instance: storage },
        pollIntervalMs: 10,
        leaseMs: 1000,
        heartbeatIntervalMs: 5,
        rescueIntervalMs: 60_000,
        localHandoff: false,
        abortGraceMs: 20,
        logger: false,
      }),
    ],
    providers: [CommitProcessor],
  });
  const queue = queueOf(app);
  return { queue, log: new EventLog(queue.events$) };
}

describe("a transactional job's commit racing its own heartbeat or a cancel (memory storage with row locks)", () => {
  closeAppsAfterEach();
  afterEach(() => {
    signals.clear();
    started = deferred();
  });

  it('a heartbeat that waited for the commit and found the job completed does not make it lease-lost', async () => {
    const storage = new RowLockStorage({ clock: storageClock });
    storage.duringCommit = () => storage.heartbeatBlocked.promise;
    const { queue, log } = await start(storage);
    const { id } = await queue.enqueue('in-tx', {});
    await log.waitUntil((e) => e.jobId === id && (e.type === 'completed' || e.type === 'lease-lost'));
    await flush();
    expect(log.typesOf(id)).toEqual(['enqueued', 'started', 'completed']);
    expect(signals.get(id)?.aborted).toBe(false);
    expect(await queue.getJob(id)).toMatchObject({ state: 'completed', result: 'done' });
  });

  it('a batched completion (no transaction) that a heartbeat waited for is completed too', async () => {
    const storage = new RowLockStorage({ clock: storageClock });
    storage.duringCommit = () => storage.heartbeatBlocked.promise;
    const { queue, log } = await start(storage);
    const { id } = await queue.enqueue('batched', {});
    await log.waitUntil((e) => e.jobId === id && (e.type === 'completed' || e.type === 'lease-lost'));
    await flush();
    expect(log.typesOf(id)).toEqual(['enqueued', 'started', 'completed']);
    expect(signals.get(id)?.aborted).toBe(false);
  });

  it('a cancel requested while the job commits neither aborts it nor turns its completion into a lease loss', async () => {
    const storage = new RowLockStorage({ clock: storageClock });
    storage.duringCommit = async (id) => {
      await storage.cancel(id);
      await flush();
    };
    const { queue, log } = await start(storage);
    const { id } = await queue.enqueue('in-tx', {});
    await log.waitUntil((e) => e.jobId === id && ['completed', 'lease-lost', 'cancelled'].includes(e.type));
    await flush();
    expect(log.typesOf(id)).toEqual(['enqueued', 'started', 'completed']);
    expect(signals.get(id)?.aborted).toBe(false);
    expect(await queue.getJob(id)).toMatchObject({ state: 'completed', result: 'done' });
  });

  it('a job another worker took while its transaction committed is still lease-lost', async () => {
    const storage = new RowLockStorage({ clock: storageClock });
    storage.duringCommit = (id) => stealJob(storage, id);
    const { queue, log } = await start(storage);
    const { id } = await queue.enqueue('in-tx', {});
    await log.waitUntil((e) => e.jobId === id && (e.type === 'completed' || e.type === 'lease-lost'));
    await flush();
    expect(log.typesOf(id)).toEqual(['enqueued', 'started', 'lease-lost']);
    expect(await queue.getJob(id)).toMatchObject({ state: 'running', lockedBy: 'another-worker' });
  });

  it('a job another worker took while its handler ran is aborted by the next heartbeat and lease-lost', async () => {
    const storage = new RowLockStorage({ clock: storageClock });
    const { queue, log } = await start(storage);
    const { id } = await queue.enqueue('until-aborted', {});
    await started.promise;
    await stealJob(storage, id);
    await log.waitUntil((e) => e.jobId === id && (e.type === 'completed' || e.type === 'lease-lost'));
    expect(log.typesOf(id)).toEqual(['enqueued', 'started', 'lease-lost']);
    expect(String(signals.get(id)?.reason)).toMatch(/lease on job .* was lost/);
    expect(await queue.getJob(id)).toMatchObject({ state: 'running', lockedBy: 'another-worker' });
  });

  it('a transactional job that ignored its timeout and committed after the abort grace is completed, not lease-lost', async () => {
    const storage = new RowLockStorage({ clock: storageClock });
    const { queue, log } = await start(storage);
    const { id } = await queue.enqueue('overtime', {});
    await log.waitUntil((e) => e.jobId === id && ['completed', 'lease-lost', 'retrying', 'dead'].includes(e.type));
    await flush();
    expect(log.typesOf(id)).toEqual(['enqueued', 'started', 'completed']);
    expect(signals.get(id)?.reason).toBeInstanceOf(JobTimeoutError);
    expect(await queue.getJob(id)).toMatchObject({ state: 'completed', attempt: 1, result: 'late' });
  });
});
