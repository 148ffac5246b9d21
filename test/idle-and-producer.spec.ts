import { Injectable, type DynamicModule } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { Job, JobsModule, MemoryStorage, Processor, type JobContext, type JobsModuleOptions } from '../lib/index.js';
import { closeAppsAfterEach, queueOf, runtimeOf, startApp } from './fixtures/app.js';
import { deferred, flush } from './fixtures/deferred.js';
import { EventLog } from './fixtures/event-log.js';

@Injectable()
class Gates {
  readonly slow = deferred();
  readonly ran: string[] = [];
}

@Processor('slow')
class SlowProcessor {
  constructor(private readonly gates: Gates) {}
  @Job('slow')
  async slow(_payload: unknown, ctx: JobContext) {
    await this.gates.slow.promise;
    this.gates.ran.push(ctx.id);
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

class IdleAppModule {
  static register(storage: MemoryStorage, options: JobsModuleOptions = {}): DynamicModule {
    return {
      module: IdleAppModule,
      imports: [JobsModule.forRoot({ storage: { instance: storage }, logger: false, pollIntervalMs: 5, ...options })],
      providers: [Gates, SlowProcessor, FastProcessor],
    };
  }
}

/** Resolves `true` if `promise` settles within a few event-loop turns. */
async function settlesSoon(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await flush(30);
  return done;
}

describe('onIdle()', () => {
  closeAppsAfterEach();

  it('resolves only once running jobs have finished', async () => {
    const app = await startApp({ imports: [IdleAppModule.register(new MemoryStorage())] });
    const log = new EventLog(queueOf(app).events$);
    const { id } = await queueOf(app).enqueue('slow', {});
    await log.waitFor('started', id);
    const idle = queueOf(app).onIdle();
    expect(await settlesSoon(idle)).toBe(false);
    app.get(Gates).slow.resolve();
    await idle;
    expect((await queueOf(app).getJob(id))?.state).toBe('completed');
  });

  it('onIdle(queue) waits for that queue only', async () => {
    const app = await startApp({ imports: [IdleAppModule.register(new MemoryStorage())] });
    const log = new EventLog(queueOf(app).events$);
    const slow = await queueOf(app).enqueue('slow', {});
    const fast = await queueOf(app).enqueue('fast', {});
    await log.waitFor('started', slow.id);
    await queueOf(app).onIdle('fast');
    expect((await queueOf(app).getJob(fast.id))?.state).toBe('completed');
    expect((await queueOf(app).getJob(slow.id))?.state).toBe('running');
    app.get(Gates).slow.resolve();
    await queueOf(app).onIdle();
  });

  it('does not wait for jobs scheduled in the future', async () => {
    const app = await startApp({ imports: [IdleAppModule.register(new MemoryStorage())] });
    const { id } = await queueOf(app).enqueue('fast', {}, { delay: 60_000 });
    await queueOf(app).onIdle();
    expect((await queueOf(app).getJob(id))?.state).toBe('scheduled');
  });
});

describe('workers: false', () => {
  closeAppsAfterEach();

  it('only enqueues: no handler runs, jobs wait for an instance with workers', async () => {
    const storage = new MemoryStorage();
    const producer = await startApp({ imports: [IdleAppModule.register(storage, { workers: false })] });
    expect(runtimeOf(producer).engine).toBeNull();
    const { id } = await queueOf(producer).enqueue('fast', { from: 'producer' });
    expect(await settlesSoon(queueOf(producer).onIdle())).toBe(false);
    expect(producer.get(Gates).ran).toEqual([]);
    expect(await storage.get(id)).toMatchObject({ state: 'available', attempt: 0 });

    const worker = await startApp({ imports: [IdleAppModule.register(storage)] });
    await queueOf(producer).onIdle();
    expect(worker.get(Gates).ran).toEqual([id]);
    expect(producer.get(Gates).ran).toEqual([]);
    expect(await storage.get(id)).toMatchObject({ state: 'completed', attempt: 1 });
  });
});
