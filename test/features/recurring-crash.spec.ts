import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Storage } from '../../lib/core/storage.js';
import { Job, JobsModule, MemoryStorage, Processor, QueueService, type JobRecord, type StorageConfig } from '../../lib/index.js';
import { TypeOrmStorage } from '../../lib/storage/typeorm/typeorm.storage.js';
import { FAST, featureKinds, openTarget, until, type FeatureTarget } from '../support/feature-targets.js';

/** Long enough that the crashed tick's row is rescued and fired again before the next tick. */
const EVERY = 3000;

@Processor('crash')
class TickProcessor {
  @Job('tick-job', { every: EVERY })
  tick() {
    return 'ticked';
  }
}

/**
 * An instance's storage that dies at the write that puts a fired schedule row back to sleep
 * (a release with a due time, or a snooze that stores the tick's job along with it): that
 * call never returns, and every later call of this instance fails, as if the process had
 * been killed there. Its leases then expire and another instance's rescuer takes them.
 */
function crashingAtSnooze(inner: Storage) {
  const state = { crashed: false, crash: null as (() => void) | null };
  const crashedAt = new Promise<void>((resolve) => (state.crash = resolve));
  const storage = new Proxy(inner, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (prop === 'close' || prop === 'init') return (value as (...a: unknown[]) => unknown).apply(target, args);
        if (state.crashed) return Promise.reject(new Error('this instance is dead'));
        const snooze = (prop === 'release' && args[2] instanceof Date) || prop === 'snoozeWith';
        if (snooze) {
          state.crashed = true;
          state.crash!();
          return new Promise(() => undefined);
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as Storage;
  return { storage, crashedAt };
}

for (const kind of await featureKinds()) {
  describe(`a recurring tick on ${kind} fires once even when its instance dies between firing and snoozing`, () => {
    let target: FeatureTarget;
    let memory: MemoryStorage | null = null;
    const apps: INestApplication[] = [];

    const newStorage = async (): Promise<Storage> =>
      kind === 'memory' ? (memory ??= new MemoryStorage()) : TypeOrmStorage.fromConfig(target.storage() as Exclude<StorageConfig, { instance: unknown }> as never);

    const instance = async (storage: Storage) => {
      const mod = await Test.createTestingModule({
        imports: [JobsModule.forRoot({ storage: { instance: storage }, ...FAST, shutdownTimeoutMs: 50, abortGraceMs: 20 })],
        providers: [TickProcessor],
      }).compile();
      const app = mod.createNestApplication({ logger: false });
      await app.init();
      apps.push(app);
      return app;
    };

    beforeEach(async () => {
      target = await openTarget(kind);
      memory = null;
    });
    afterEach(async () => {
      for (const app of apps.splice(0)) await app.close();
      await target.cleanup();
    });

    it('the rescued schedule row does not fire the tick a second time', async () => {
      const dying = crashingAtSnooze(await newStorage());
      await instance(dying.storage);
      await dying.crashedAt; // the first tick fired on the dying instance
      const tick = Math.floor(Date.now() / EVERY) * EVERY;
      const survivor = (await instance(await newStorage())).get(QueueService);

      // The survivor's rescuer returns the row once its lease expires; the row fires and sleeps again.
      const schedule = async () => (await survivor.list({ name: 'jobs:schedule' })).jobs[0];
      await until(async () => (await schedule())?.state === 'scheduled', 10_000, 'the schedule row to be rescued and snoozed');
      expect((await schedule())!.runAt.getTime()).toBeGreaterThanOrEqual(tick + EVERY);

      // One job for the tick that was firing when the instance died (later ticks may have fired since).
      const tickOf = (j: JobRecord) => Number(j.uniqueKey!.slice(j.uniqueKey!.lastIndexOf(':') + 1));
      const jobs = (await survivor.list({ name: 'tick-job' })).jobs.filter((j) => tickOf(j) < tick + EVERY);
      expect(jobs.map((j) => j.uniqueKey)).toHaveLength(1);
    });
  });
}
