import type { ModuleMetadata } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import {
  Backoff,
  defineJob,
  FakeClock,
  InvalidOptionsError,
  Job,
  JobsModule,
  MemoryStorage,
  Processor,
  type JobsModuleOptions,
} from '../lib/index.js';
import { createStorage } from '../lib/storage/create-storage.js';
import { closeAppsAfterEach, compileApp, queueOf, startApp } from './fixtures/app.js';
import { memoryApp, refusal } from './fixtures/refusal.js';

@Processor('known-keys')
class PlainProcessor {
  @Job('plain')
  plain() {
    return 'ok';
  }
}

/** Compiles and starts an app; expects start-up (compile or init) to fail with an InvalidOptionsError. */
async function startupRefusal(metadata: ModuleMetadata): Promise<InvalidOptionsError> {
  return refusal(InvalidOptionsError, (async () => {
    const app = await compileApp(metadata);
    await app.init();
  })());
}

const misspelt = <T>(options: Record<string, unknown>) => options as T;

describe('misspelt options are refused, naming the key and the nearest known one', () => {
  closeAppsAfterEach();

  it("enqueue('e', {}, { dealy: 5000 }): refused, nothing stored", async () => {
    const { app, storage } = await memoryApp([PlainProcessor]);
    const err = await refusal(InvalidOptionsError, queueOf(app).enqueue('plain', {}, misspelt({ dealy: 5000 })));
    expect(err.option).toBe('dealy');
    expect(err.message).toBe("Invalid option 'dealy': unknown option in enqueue options; did you mean 'delay'?");
    expect((await storage.list({})).jobs).toEqual([]);
  });

  it('a key far from every option: the message lists the options', async () => {
    const { app } = await memoryApp([PlainProcessor]);
    const err = await refusal(InvalidOptionsError, queueOf(app).enqueue('plain', {}, misspelt({ colour: 'red' })));
    expect(err.message).toMatch(/unknown option in enqueue options; the options are 'queue', 'delay', 'runAt', .*'manager'/);
  });

  it('enqueueMany: item keys, item options, a manager per item, the batch options', async () => {
    const { app, storage } = await memoryApp([PlainProcessor]);
    const queue = queueOf(app);
    const item = (extra: Record<string, unknown>) => [{ name: 'plain', payload: {} }, { name: 'plain', payload: {}, ...extra }] as never;
    expect(await refusal(InvalidOptionsError, queue.enqueueMany(item({ option: { delay: 1 } })))).toMatchObject({
      option: 'enqueueMany[1].option',
      message: expect.stringMatching(/did you mean 'options'\?/),
    });
    expect(await refusal(InvalidOptionsError, queue.enqueueMany(item({ options: { priorty: 1 } })))).toMatchObject({
      option: 'priorty',
      message: expect.stringMatching(/in enqueueMany\[1\]\.options; did you mean 'priority'\?/),
    });
    expect(await refusal(InvalidOptionsError, queue.enqueueMany(item({ options: { manager: {} } })))).toMatchObject({
      option: 'enqueueMany[1].options.manager',
      message: expect.stringMatching(/second argument/),
    });
    expect(await refusal(InvalidOptionsError, queue.enqueueMany([{ name: 'plain', payload: {} }], misspelt({ manger: {} })))).toMatchObject({
      option: 'manger',
      message: expect.stringMatching(/did you mean 'manager'\?/),
    });
    expect((await storage.list({})).jobs).toEqual([]);
  });

  it('unique options, list filter, waitFor, every, prune and retryAll', async () => {
    const { app } = await memoryApp([PlainProcessor]);
    const queue = queueOf(app);
    const { id } = await queue.enqueue('plain', {});
    const cases: Array<[Promise<unknown>, string, string]> = [
      [queue.enqueue('plain', {}, { uniqueKey: 'k', unique: misspelt({ ttl: 5 }) }), 'unique.ttl', 'ttlMs'],
      [queue.list(misspelt({ limt: 5 })), 'limt', 'limit'],
      [queue.waitFor(id, misspelt({ timeout: 5 })), 'timeout', 'timeoutMs'],
      [queue.every('plain', {}, misspelt({ evry: '1h' })), 'evry', 'every'],
      [queue.every('plain', {}, misspelt({ every: '1h', timeZone: 'UTC' })), 'timeZone', 'timezone'],
      [queue.prune(misspelt({ olderThan: new Date(), state: ['dead'] })), 'state', 'states'],
      [queue.retryAll(misspelt({ queues: 'known-keys' })), 'queues', 'queue'],
    ];
    for (const [call, option, suggestion] of cases) {
      const err = await refusal(InvalidOptionsError, call);
      expect(err.option).toBe(option);
      expect(err.message).toContain(`did you mean '${suggestion}'?`);
    }
  });

  it('Backoff.exponential and defineJob options', async () => {
    const backoff = await refusal(InvalidOptionsError, () => Backoff.exponential(2, misspelt({ intialMs: 100 })));
    expect(backoff).toMatchObject({ option: 'backoff.intialMs', message: expect.stringMatching(/did you mean 'initialMs'\?/) });
    const token = await refusal(InvalidOptionsError, () => defineJob('typed', misspelt<{ schema?: never }>({ shema: {} })));
    expect(token).toMatchObject({ option: 'shema', message: expect.stringMatching(/did you mean 'schema'\?/) });
  });
});

describe('misspelt module options are refused at start-up', () => {
  closeAppsAfterEach();

  it.each<[string, Record<string, unknown>, string, string]>([
    ['a queue entry', { queues: { q: { concurency: 5 } } }, 'queues.q.concurency', 'concurrency'],
    ['the top level', { pollIntervalMS: 5 }, 'pollIntervalMS', 'pollIntervalMs'],
    ['the top level (storage)', { storge: { type: 'memory' } }, 'storge', 'storage'],
    ['retention', { retention: { completedMS: 5 } }, 'retention.completedMS', 'completedMs'],
    ['memory storage', { storage: { type: 'memory', clok: new FakeClock() } }, 'storage.clok', 'clock'],
    ['a storage instance', { storage: { instance: new MemoryStorage(), type: 'memory' } }, 'storage.type', 'instance'],
  ])('%s: forRoot refuses it', async (_where, options, option, suggestion) => {
    const err = await startupRefusal({ imports: [JobsModule.forRoot({ storage: { type: 'memory' }, logger: false, ...options } as JobsModuleOptions)] });
    expect(err.option).toBe(option);
    if (suggestion === 'instance') expect(err.message).toMatch(/the options are 'instance'/);
    else expect(err.message).toContain(`did you mean '${suggestion}'?`);
  });

  it('forRootAsync: options from a factory go through the same check', async () => {
    const err = await startupRefusal({
      imports: [JobsModule.forRootAsync({ useFactory: async () => misspelt<JobsModuleOptions>({ storage: { type: 'memory' }, logger: false, maxRetrys: 1 }) })],
    });
    expect(err).toMatchObject({ option: 'maxRetrys', message: expect.stringMatching(/in JobsModule options; did you mean 'maxRetries'\?/) });
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['sqlite', { type: 'sqlite', database: ':memory:', busyTimeout: 5 }, 'storage.busyTimeout'],
    ['postgres', { type: 'postgres', url: 'postgres://x', poolsize: 4 }, 'storage.poolsize'],
    ['mariadb', { type: 'mariadb', hots: 'localhost' }, 'storage.hots'],
    ['dataSource', { dataSource: {}, tablePrefx: 'x_' }, 'storage.tablePrefx'],
    ['dataSourceToken', { dataSourceToken: 'DS', listenHealtCheckMs: 5 }, 'storage.listenHealtCheckMs'],
  ])('storage options of %s: the key is refused before anything connects', async (_kind, storage, option) => {
    const err = await refusal(InvalidOptionsError, createStorage(storage as never, undefined, () => undefined));
    expect(err.option).toBe(option);
    expect(err.message).toMatch(/did you mean '(busyTimeoutMs|poolSize|host|tablePrefix|listenHealthCheckMs)'\?/);
  });

  it('@Processor({ queue, maxRetrys: 0 }) and @Job options are refused at start-up, naming the class', async () => {
    @Processor(misspelt({ queue: 'p', maxRetrys: 0 }))
    class MisspeltProcessor {
      @Job('misspelt-processor')
      run() {}
    }
    @Processor('j')
    class MisspeltJob {
      @Job('misspelt-job', misspelt({ priorty: 1 }))
      run() {}
    }
    const p = await startupRefusal({ imports: [JobsModule.forRoot({ storage: { type: 'memory' }, logger: false })], providers: [MisspeltProcessor] });
    expect(p).toMatchObject({ option: 'maxRetrys', message: expect.stringMatching(/@Processor MisspeltProcessor.*did you mean 'maxRetries'\?/) });
    const j = await startupRefusal({ imports: [JobsModule.forRoot({ storage: { type: 'memory' }, logger: false })], providers: [MisspeltJob] });
    expect(j).toMatchObject({ option: 'priorty', message: expect.stringMatching(/MisspeltJob\.run.*did you mean 'priority'\?/) });
  });

  it('every known key, also those carrying foreign objects, is still accepted', async () => {
    const clock = new FakeClock();
    const app = await startApp({
      imports: [JobsModule.forRoot({
        storage: { type: 'memory', clock },
        clock,
        logger: false,
        workers: true,
        queues: { q: { concurrency: 2, prefetch: 4 } },
        retention: { completedMs: 1000, intervalMs: 1000 },
        defaultConcurrency: 3,
        maxRetries: 2,
        backoff: Backoff.exponential(2, { initialMs: 10, maxMs: 100, jitter: false }),
        timeout: 1000,
        pollIntervalMs: 5,
        leaseMs: 300,
        heartbeatIntervalMs: 100,
        rescueIntervalMs: 300,
        shutdownTimeoutMs: 100,
        abortGraceMs: 100,
        maxPayloadBytes: 1000,
        localHandoff: false,
        ackBatchSize: 10,
      })],
      providers: [PlainProcessor],
    });
    const queue = queueOf(app);
    const { id } = await queue.enqueue('plain', {}, {
      queue: 'q', delay: 0, priority: 1, maxRetries: 1, backoff: 5, timeout: 100, uniqueKey: 'u', unique: { while: 'queued', ttlMs: 1000 },
    });
    await queue.enqueueMany([{ name: 'plain', payload: {}, options: { queue: 'q', runAt: new Date(clock.now()) } }], {});
    await clock.advance(10);
    await queue.onIdle();
    expect(await queue.waitFor(id, { timeoutMs: 1000 })).toBe('ok');
    expect((await queue.list({ queue: 'q', state: 'completed', name: 'plain', limit: 5, cursor: null })).jobs).toHaveLength(2);
    expect(await queue.every('plain', {}, { every: '1h', key: 'k', queue: 'q', missedTicks: 'skip' })).toEqual({ key: 'k' });
    expect(await queue.prune({ olderThan: new Date(clock.now()), states: ['completed'] })).toBeGreaterThanOrEqual(0);
    expect(await queue.retryAll({ queue: 'q', state: 'dead' })).toBe(0);
    expect(defineJob('typed', { schema: undefined }).name).toBe('typed');
  });
});
