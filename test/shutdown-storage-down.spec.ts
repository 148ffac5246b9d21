import type { DynamicModule } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import type { Storage } from '../lib/core/storage.js';
import { Job, JobsModule, MemoryStorage, Processor, type EngineLogger } from '../lib/index.js';
import { closeApp, closeAppsAfterEach, queueOf, startApp } from './fixtures/app.js';
import { deferred } from './fixtures/deferred.js';
import { EventLog } from './fixtures/event-log.js';

/**
 * A storage whose database can go down (every call then fails, as it would without a
 * connection) or slow down (completions take `slowMs` each).
 */
function flaky(inner: MemoryStorage) {
  const state = { down: false, calls: 0, slowMs: 0 };
  const storage = new Proxy(inner, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (state.down && prop !== 'close' && prop !== 'init') {
          state.calls++;
          return Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5432'));
        }
        const call = () => (value as (...a: unknown[]) => unknown).apply(target, args);
        if (state.slowMs && prop === 'complete') return new Promise((r) => setTimeout(r, state.slowMs)).then(call);
        return call();
      };
    },
  }) as Storage;
  return { storage, state };
}

let finish = deferred();

@Processor('down')
class WaitsForTheTest {
  @Job('work')
  async work() {
    await finish.promise;
    return 'done';
  }
}

function appWith(storage: Storage, logger: EngineLogger, ackBatchSize = 500): DynamicModule {
  return {
    module: class DownAppModule {},
    imports: [
      JobsModule.forRoot({
        storage: { instance: storage },
        logger,
        pollIntervalMs: 5,
        leaseMs: 300,
        heartbeatIntervalMs: 100,
        shutdownTimeoutMs: 50,
        abortGraceMs: 20,
        ackBatchSize,
      }),
    ],
    providers: [WaitsForTheTest],
  };
}

describe('shutdown while the database is down or slow', () => {
  closeAppsAfterEach();

  it('app.close() gives up writing outcomes once a whole leaseMs passes without a write, says which were left, and stops retrying', async () => {
    finish = deferred();
    const memory = new MemoryStorage();
    const { storage, state } = flaky(memory);
    const errors: string[] = [];
    const logger: EngineLogger = { log() {}, warn() {}, error: (m) => errors.push(m) };
    const app = await startApp({ imports: [appWith(storage, logger)] });
    const log = new EventLog(queueOf(app).events$);
    const { id } = await queueOf(app).enqueue('work', {});
    await log.waitFor('started', id);

    // The database goes away; the handler then finishes: its completion cannot be written.
    state.down = true;
    finish.resolve();

    const started = Date.now();
    const closed = await Promise.race([
      closeApp(app).then(() => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), 5000)),
    ]);
    expect(closed).toBe(true);
    // Bounded by the lease (300 ms) plus the shutdown steps before it, not by the outage.
    expect(Date.now() - started).toBeLessThan(2500);
    expect(errors.some((m) => /Shutdown/.test(m) && m.includes(id) && /leaseMs/.test(m) && /rescuer/.test(m))).toBe(true);

    // Nothing was written: the job still holds its (expiring) lease, and the rescuer will return it.
    expect(await memory.get(id)).toMatchObject({ state: 'running', attempt: 1 });
    // The retries stopped with the shutdown.
    const calls = state.calls;
    await new Promise((r) => setTimeout(r, 200));
    expect(state.calls).toBe(calls);
  });

  it('a slow database that still takes writes gets every outcome written, however long past leaseMs that takes', async () => {
    finish = deferred();
    const memory = new MemoryStorage();
    const { storage, state } = flaky(memory);
    const errors: string[] = [];
    const app = await startApp({ imports: [appWith(storage, { log() {}, warn() {}, error: (m) => errors.push(m) }, 1)] });
    const log = new EventLog(queueOf(app).events$);
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await queueOf(app).enqueue('work', { i })).id);
    for (const id of ids) await log.waitFor('started', id);

    // One completion per statement, 100 ms each: 600 ms in all, twice the lease, but never a lease without progress.
    state.slowMs = 100;
    finish.resolve();
    await closeApp(app);
    for (const id of ids) expect(await memory.get(id)).toMatchObject({ state: 'completed', result: 'done' });
    expect(errors).toEqual([]);
  });
});
