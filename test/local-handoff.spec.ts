import { Injectable, type DynamicModule } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import type { NewJob } from '../lib/core/job-record.js';
import type { ClaimedEnqueue } from '../lib/core/storage.js';
import { Job, JobsModule, MemoryStorage, Processor, type JobContext, type JobsModuleOptions } from '../lib/index.js';
import { closeApp, closeAppsAfterEach, queueOf, startApp } from './fixtures/app.js';
import { deferred, flush, type Deferred } from './fixtures/deferred.js';
import { EventLog } from './fixtures/event-log.js';

/** A memory storage that counts claims and hand-offs, and can hold or break a hand-off's write. */
class CountingStorage extends MemoryStorage {
  /** Ids that claim() handed out. */
  readonly claimed: string[] = [];
  handoffs: Array<ClaimedEnqueue> = [];
  hold: Deferred | null = null;
  /** Holds the next claim's answer (taken before anything enqueued meanwhile) until resolved. */
  holdClaim: Deferred | null = null;
  claimHeld = deferred();
  failNext: Error | null = null;

  override async claim(queue: string, workerId: string, limit: number, leaseMs: number) {
    const jobs = await super.claim(queue, workerId, limit, leaseMs);
    this.claimed.push(...jobs.map((j) => j.id));
    const hold = this.holdClaim;
    if (hold) {
      this.holdClaim = null;
      this.claimHeld.resolve();
      await hold.promise;
    }
    return jobs;
  }

  override async enqueueClaimed(job: NewJob, workerId: string, leaseMs: number): Promise<ClaimedEnqueue> {
    if (this.failNext) {
      const err = this.failNext;
      this.failNext = null;
      throw err;
    }
    const out = await super.enqueueClaimed(job, workerId, leaseMs);
    if (this.hold) await this.hold.promise;
    this.handoffs.push(out);
    return out;
  }
}

@Injectable()
class Gates {
  slow = deferred();
  readonly ran: string[] = [];
}

@Processor({ queue: 'slow' })
class SlowProcessor {
  constructor(private readonly gates: Gates) {}
  @Job('slow')
  async slow(_payload: unknown, ctx: JobContext) {
    this.gates.ran.push(ctx.id);
    await this.gates.slow.promise;
  }
}

@Processor('fast')
class FastProcessor {
  constructor(private readonly gates: Gates) {}
  @Job('fast')
  fast(_payload: unknown, ctx: JobContext) {
    this.gates.ran.push(ctx.id);
  }
}

class HandoffAppModule {
  static register(storage: MemoryStorage, options: JobsModuleOptions = {}): DynamicModule {
    return {
      module: HandoffAppModule,
      imports: [
        JobsModule.forRoot({ storage: { instance: storage }, logger: false, pollIntervalMs: 5, queues: { slow: { concurrency: 1 } }, ...options }),
      ],
      providers: [Gates, SlowProcessor, FastProcessor],
    };
  }
}

/** Starts an app and lets its first claims come back empty: its queues are idle. */
async function idleApp(storage: CountingStorage, options: JobsModuleOptions = {}) {
  const app = await startApp({ imports: [HandoffAppModule.register(storage, options)] });
  await flush();
  return app;
}

describe('local hand-off', () => {
  closeAppsAfterEach();

  it('a job enqueued for a queue idle here is stored claimed by this worker and starts without a claim', async () => {
    const storage = new CountingStorage();
    const app = await idleApp(storage);
    const log = new EventLog(queueOf(app).events$);

    const { id } = await queueOf(app).enqueue('fast', { n: 1 });
    await log.waitFor('completed', id);

    expect(storage.handoffs).toHaveLength(1);
    expect(storage.handoffs[0]!.claimed).toMatchObject({ id, state: 'running', attempt: 1 });
    expect(storage.claimed).not.toContain(id);
    expect(log.typesOf(id)).toEqual(['enqueued', 'started', 'completed']);
    expect(await storage.get(id)).toMatchObject({ state: 'completed', attempt: 1 });
    const [stats] = (await queueOf(app).stats()).filter((s) => s.queue === 'fast');
    expect(stats).toMatchObject({ available: 0, running: 0, completed: { allTime: 1 } });
  });

  it('a busy worker is not handed the job: it is stored waiting, claimed as usual, and runs when a slot frees', async () => {
    const storage = new CountingStorage();
    const app = await idleApp(storage);
    const log = new EventLog(queueOf(app).events$);

    const first = await queueOf(app).enqueue('slow', {});
    await log.waitFor('started', first.id);
    const second = await queueOf(app).enqueue('slow', {});
    expect(storage.handoffs.map((h) => h.result.id)).toEqual([first.id]);
    await flush();
    expect(app.get(Gates).ran).toEqual([first.id]);

    app.get(Gates).slow.resolve();
    await log.waitFor('completed', second.id);
    expect(app.get(Gates).ran).toEqual([first.id, second.id]);
  });

  it('a paused queue gets the job stored waiting; it runs after resume', async () => {
    const storage = new CountingStorage();
    const app = await idleApp(storage);
    const log = new EventLog(queueOf(app).events$);
    await queueOf(app).pause('fast');

    const { id } = await queueOf(app).enqueue('fast', {});
    expect(storage.handoffs).toEqual([{ result: { id, duplicate: false }, claimed: null }]);
    await flush();
    expect(await storage.get(id)).toMatchObject({ state: 'available', attempt: 0 });

    await queueOf(app).resume('fast');
    await log.waitFor('completed', id);
  });

  it('delayed jobs, jobs with a unique key and jobs of queues not run here are stored waiting', async () => {
    const storage = new CountingStorage();
    const app = await idleApp(storage);
    const log = new EventLog(queueOf(app).events$);

    const delayed = await queueOf(app).enqueue('fast', {}, { delay: 20 });
    const keyed = await queueOf(app).enqueue('fast', {}, { uniqueKey: 'k' });
    const elsewhere = await queueOf(app).enqueue('fast', {}, { queue: 'not-here' });
    expect(storage.handoffs).toEqual([]);
    await log.waitFor('completed', delayed.id);
    await log.waitFor('completed', keyed.id);
    expect(await storage.get(elsewhere.id)).toMatchObject({ state: 'available' });
  });

  it('localHandoff: false stores every job waiting', async () => {
    const storage = new CountingStorage();
    const app = await idleApp(storage, { localHandoff: false });
    const log = new EventLog(queueOf(app).events$);
    const { id } = await queueOf(app).enqueue('fast', {});
    await log.waitFor('completed', id);
    expect(storage.handoffs).toEqual([]);
  });

  it('rejects a localHandoff that is not a boolean', async () => {
    await expect(startApp({ imports: [HandoffAppModule.register(new MemoryStorage(), { localHandoff: 'yes' as never })] })).rejects.toThrow(
      /localHandoff.*true or false/,
    );
  });

  it('a failed write rejects the enqueue and gives the slot back', async () => {
    const storage = new CountingStorage();
    const app = await idleApp(storage);
    const log = new EventLog(queueOf(app).events$);
    storage.failNext = new Error('connection reset');

    await expect(queueOf(app).enqueue('slow', {})).rejects.toThrow('connection reset');
    // concurrency 1: had the slot leaked, this job could not be handed off.
    const { id } = await queueOf(app).enqueue('slow', {});
    await log.waitFor('started', id);
    expect(storage.handoffs.map((h) => h.claimed?.id)).toEqual([id]);
    app.get(Gates).slow.resolve();
    await log.waitFor('completed', id);
  });

  it('shutdown during the write waits for it and hands the job back unstarted', async () => {
    const storage = new CountingStorage();
    const app = await idleApp(storage);
    const log = new EventLog(queueOf(app).events$);
    storage.hold = deferred();

    const enqueued = queueOf(app).enqueue('fast', {});
    await flush();
    const closing = closeApp(app);
    await flush();
    storage.hold.resolve();
    const { id } = await enqueued;
    await closing;

    expect(app.get(Gates).ran).toEqual([]);
    expect(log.typesOf(id)).toEqual(['enqueued', 'released']);
    expect(await storage.get(id)).toMatchObject({ state: 'available', attempt: 0, lockedBy: null });
  });
});

describe('wake-ups during a claim', () => {
  closeAppsAfterEach();

  it('a job enqueued while a claim is in flight is claimed at once, not at the next poll', async () => {
    const storage = new CountingStorage();
    // A poll an hour away: only a wake-up can start the job within the test.
    const app = await idleApp(storage, { pollIntervalMs: 3_600_000 });
    const log = new EventLog(queueOf(app).events$);
    const gate = deferred();
    storage.holdClaim = gate;
    await queueOf(app).resume('fast'); // wakes the queue: a claim starts and is held
    await storage.claimHeld.promise;

    const { id } = await queueOf(app).enqueue('fast', {}); // no hand-off while a claim is in flight
    gate.resolve();
    await log.waitFor('completed', id);
    expect(storage.handoffs).toEqual([]);
    expect(storage.claimed).toContain(id);
  });
});
