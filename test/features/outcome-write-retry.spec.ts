import { describe, expect, it } from 'vitest';
import { systemClock, type Clock } from '../../lib/core/clock.js';
import { Job, JobsModule, MaxRetries, MemoryStorage, Processor, type CompleteItem, type FailItem, type JobContext } from '../../lib/index.js';
import { closeAppsAfterEach, queueOf, startApp } from '../fixtures/app.js';
import { flush } from '../fixtures/deferred.js';
import { EventLog } from '../fixtures/event-log.js';

@Processor({ queue: 'acks', maxRetries: MaxRetries.count(3) })
class AckProcessor {
  @Job('ok')
  ok() {
    return 'done';
  }

  @Job('throws')
  throws() {
    throw new Error('handler failed');
  }

  @Job('in-tx', { transaction: true })
  inTx(_payload: unknown, _ctx: JobContext) {
    return 'committed';
  }
}

/** The storage's clock runs this far ahead of the worker's while a job is taken over. */
let skewMs = 0;
const storageClock: Clock = { ...systemClock, now: () => Date.now() + skewMs };

const dropped = () => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });

/**
 * A memory storage whose next outcome write loses its connection: either after the write
 * committed (its answer never arrives) or before it reached the database, while another
 * worker takes the job over (as after a rescue).
 */
class DroppingStorage extends MemoryStorage {
  drop: 'after-commit' | 'before-commit-and-stolen' | null = null;

  override async complete(items: CompleteItem[]): Promise<string[]> {
    return this.dropping(items.map((i) => i.id), () => super.complete(items));
  }

  override async fail(items: FailItem[]): Promise<string[]> {
    return this.dropping(items.map((i) => i.id), () => super.fail(items));
  }

  /** `transaction: true` jobs: the work, then the guarded completion, as one commit. */
  async completeWithin<T>(id: string, workerId: string, work: (m: unknown) => Promise<T>, toResult: (v: T) => string | null) {
    const value = await work(undefined);
    const held = await this.dropping([id], () => super.complete([{ id, workerId, result: toResult(value) }]));
    return { held: held.length === 1, value };
  }

  private async dropping(ids: string[], write: () => Promise<string[]>): Promise<string[]> {
    const drop = this.drop;
    this.drop = null;
    if (drop === 'before-commit-and-stolen') {
      skewMs = 3_600_000;
      await this.rescue();
      await this.claim('acks', 'another-worker', ids.length, 60_000);
      skewMs = 0;
      throw dropped();
    }
    const held = await write();
    if (drop === 'after-commit') throw dropped();
    return held;
  }
}

async function start(storage: DroppingStorage) {
  const app = await startApp({
    imports: [
      JobsModule.forRoot({
        storage: { instance: storage },
        pollIntervalMs: 10,
        leaseMs: 400,
        heartbeatIntervalMs: 100,
        rescueIntervalMs: 60_000,
        localHandoff: false,
        logger: false,
      }),
    ],
    providers: [AckProcessor],
  });
  const queue = queueOf(app);
  return { queue, log: new EventLog(queue.events$) };
}

const ended = (id: string) => (e: { jobId: string; type: string }) =>
  e.jobId === id && ['completed', 'lease-lost', 'retrying', 'dead'].includes(e.type);

describe('an outcome write whose connection dropped is retried; the retry tells a write that landed from a lost lease', () => {
  closeAppsAfterEach();

  it('a completion that committed before the connection dropped is completed, not lease-lost', async () => {
    const storage = new DroppingStorage();
    storage.drop = 'after-commit';
    const { queue, log } = await start(storage);
    const { id } = await queue.enqueue('ok', {});
    await log.waitUntil(ended(id));
    await flush();
    expect(log.typesOf(id)).toEqual(['enqueued', 'started', 'completed']);
    expect(await queue.getJob(id)).toMatchObject({ state: 'completed', attempt: 1, result: 'done' });
  });

  it('a failure that was stored before the connection dropped is retrying, not lease-lost', async () => {
    const storage = new DroppingStorage();
    storage.drop = 'after-commit';
    const { queue, log } = await start(storage);
    const { id } = await queue.enqueue('throws', {});
    await log.waitUntil(ended(id));
    await flush();
    expect(log.typesOf(id).slice(0, 4)).toEqual(['enqueued', 'started', 'failed', 'retrying']);
    expect(log.count('lease-lost', id)).toBe(0);
    expect((await queue.getJob(id))!.lastError).toMatchObject({ message: 'handler failed', attempt: 1 });
  });

  it("a transaction whose commit landed but whose answer was lost is completed, not lease-lost", async () => {
    const storage = new DroppingStorage();
    storage.drop = 'after-commit';
    const { queue, log } = await start(storage);
    const { id } = await queue.enqueue('in-tx', {});
    await log.waitUntil(ended(id));
    await flush();
    expect(log.typesOf(id)).toEqual(['enqueued', 'started', 'completed']);
    expect(log.of('completed', id)[0]!.result).toBe('committed');
    expect(await queue.getJob(id)).toMatchObject({ state: 'completed', attempt: 1 });
  });

  it('a completion retried after another worker took the job is lease-lost', async () => {
    const storage = new DroppingStorage({ clock: storageClock });
    storage.drop = 'before-commit-and-stolen';
    const { queue, log } = await start(storage);
    const { id } = await queue.enqueue('ok', {});
    await log.waitUntil(ended(id));
    await flush();
    expect(log.typesOf(id)).toEqual(['enqueued', 'started', 'lease-lost']);
    expect(await queue.getJob(id)).toMatchObject({ state: 'running', attempt: 2, lockedBy: 'another-worker' });
  });
});
