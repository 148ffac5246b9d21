import type { DynamicModule } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { Job, JobsModule, MemoryStorage, Processor, type JobRecord } from '../lib/index.js';
import { closeAppsAfterEach, queueOf, startApp } from './fixtures/app.js';
import { deferred, flush, type Deferred } from './fixtures/deferred.js';

const ran: string[] = [];

@Processor('in-flight')
class InFlightProcessor {
  @Job('in-flight')
  run(payload: { n: number }) {
    ran.push(String(payload.n));
  }
}

/**
 * A memory storage that refuses calls once closed (as a database pool does) and can hold a
 * claim's or a rescue's answer until the test lets it through.
 */
class GatedStorage extends MemoryStorage {
  claimGate: Deferred | null = null;
  rescueGate: Deferred | null = null;
  readonly rescueCalled = deferred();
  readonly order: string[] = [];
  private isClosed = false;

  override async claim(queue: string, workerId: string, limit: number, leaseMs: number): Promise<JobRecord[]> {
    const gate = this.claimGate;
    const jobs = await super.claim(queue, workerId, limit, leaseMs);
    if (gate && jobs.length) await gate.promise;
    return jobs;
  }

  override async rescue(limit?: number): Promise<number> {
    const gate = this.rescueGate;
    this.rescueCalled.resolve();
    if (gate) await gate.promise;
    const moved = await super.rescue(limit);
    this.order.push('rescue done');
    return moved;
  }

  override async release(ids: string[], workerId: string, runAt?: Date): Promise<string[]> {
    if (this.isClosed) throw new Error('Cannot use a pool after calling end on the pool');
    return super.release(ids, workerId, runAt);
  }

  override async close(): Promise<void> {
    this.isClosed = true;
    this.order.push('close');
    await super.close();
  }
}

class InFlightModule {
  static register(storage: GatedStorage): DynamicModule {
    return {
      module: InFlightModule,
      imports: [JobsModule.forRoot({ storage: { instance: storage }, logger: false, pollIntervalMs: 60_000, localHandoff: false })],
      providers: [InFlightProcessor],
    };
  }
}

describe('shutdown waits for work already in flight before the storage closes', () => {
  closeAppsAfterEach();

  it('a claim still in flight when shutdown begins hands its jobs back at once, without counting an attempt', async () => {
    const storage = new GatedStorage();
    const app = await startApp({ imports: [InFlightModule.register(storage)] });
    storage.claimGate = deferred();
    const { id } = await queueOf(app).enqueue('in-flight', { n: 1 });
    await flush();
    expect(await storage.get(id)).toMatchObject({ state: 'running', attempt: 1 });

    const closing = app.close();
    await flush();
    storage.claimGate.resolve();
    await closing;

    expect(await storage.get(id)).toMatchObject({ state: 'available', attempt: 0, lockedBy: null });
    expect(ran).not.toContain('1');
  });

  it('a rescue still in flight finishes before the storage closes', async () => {
    const storage = new GatedStorage();
    storage.rescueGate = deferred();
    const app = await startApp({ imports: [InFlightModule.register(storage)] });
    await storage.rescueCalled.promise;

    const closing = app.close();
    await flush();
    storage.rescueGate.resolve();
    await closing;

    expect(storage.order).toEqual(['rescue done', 'close']);
  });
});
