import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NewJob } from '../../lib/core/job-record.js';
import type { Storage } from '../../lib/core/storage.js';
import { Job, JobsModule, MemoryStorage, Processor, QueueService, type JobsModuleOptions, type StorageConfig } from '../../lib/index.js';
import { TypeOrmStorage } from '../../lib/storage/typeorm/typeorm.storage.js';
import { FAST, featureKinds, openTarget, until, type FeatureTarget } from '../support/feature-targets.js';

const EVERY = 200;

const pings: string[] = [];

@Processor('held')
class PingProcessor {
  @Job('ping')
  ping(_payload: unknown, ctx: { id: string }) {
    pings.push(ctx.id);
  }
}

/**
 * An instance's storage that holds a schedule row's snooze of a 'ping' tick (the write that
 * stores the tick's job and puts the row back to sleep) until `open()`: the tick is in
 * flight, its row running, its handler not yet written. `done` settles with that write.
 */
function holdingTheTick(inner: Storage) {
  let open!: () => void;
  let entered!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  const held = { entered: new Promise<void>((r) => (entered = r)), done: null as Promise<unknown> | null };
  const storage = new Proxy(inner, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      if (prop !== 'snoozeWith') return (...args: unknown[]) => (value as (...a: unknown[]) => unknown).apply(target, args);
      return (...args: unknown[]) => {
        const jobs = args[3] as NewJob[];
        if (held.done || jobs[0]?.name !== 'ping') return (value as (...a: unknown[]) => unknown).apply(target, args);
        entered();
        held.done = opened.then(() => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args));
        return held.done;
      };
    },
  }) as Storage;
  return { storage, held, open };
}

for (const kind of await featureKinds()) {
  describe(`unschedule() on ${kind} while a tick of the schedule is in flight on another instance`, () => {
    let target: FeatureTarget;
    let memory: MemoryStorage | null = null;
    const apps: INestApplication[] = [];

    const newStorage = async (): Promise<Storage> =>
      kind === 'memory' ? (memory ??= new MemoryStorage()) : TypeOrmStorage.fromConfig(target.storage() as Exclude<StorageConfig, { instance: unknown }> as never);

    const instance = async (storage: Storage, options: JobsModuleOptions = {}) => {
      const mod = await Test.createTestingModule({
        imports: [JobsModule.forRoot({ storage: { instance: storage }, ...FAST, ...options })],
        providers: [PingProcessor],
      }).compile();
      const app = mod.createNestApplication({ logger: false });
      await app.init();
      apps.push(app);
      return app.get(QueueService);
    };

    beforeEach(async () => {
      target = await openTarget(kind);
      memory = null;
    });
    afterEach(async () => {
      for (const app of apps.splice(0)) await app.close();
      await target.cleanup();
      pings.length = 0;
    });

    it('the tick in flight stores no job once unschedule() has resolved, and nothing runs after it', async () => {
      const gate = holdingTheTick(await newStorage());
      const worker = await instance(gate.storage);
      const other = await instance(await newStorage(), { workers: false });
      await worker.every('ping', { n: 1 }, { every: EVERY, key: 'ping-held' });
      await gate.held.entered;
      const [row] = (await other.list({ name: 'jobs:schedule' })).jobs;
      expect(row).toMatchObject({ uniqueKey: 'jobs:schedule:ping-held', state: 'running' });

      expect(await other.unschedule('ping-held')).toBe(true);
      // The handler goes on now: its snooze finds the row's cancellation requested.
      gate.open();
      await gate.held.done;
      await until(async () => (await other.getJob(row!.id))?.state === 'cancelled', 10_000, 'the schedule row to end cancelled');
      // Several periods later: the tick's job was never stored, and no tick ran.
      await new Promise((r) => setTimeout(r, EVERY * 3));
      expect((await other.list({ name: 'ping' })).jobs).toEqual([]);
      expect(pings).toEqual([]);
      expect(await other.unschedule('ping-held')).toBe(false);
    });
  });
}
