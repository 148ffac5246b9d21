import { Injectable } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { Job, MaxRetries, Processor } from '../lib/index.js';
import { closeApp, closeAppsAfterEach, queueOf } from './fixtures/app.js';
import { startClockedApp } from './fixtures/clocked-app.js';
import { deferred, type Deferred } from './fixtures/deferred.js';

@Injectable()
class Gate {
  current: Deferred<void> = deferred();
}

@Processor({ queue: 'timed', maxRetries: MaxRetries.count(0) })
class TimedProcessor {
  constructor(private readonly gate: Gate) {}

  @Job('gated')
  async gated(payload: { fail?: boolean }) {
    await this.gate.current.promise;
    if (payload.fail) throw new Error('failed on purpose');
  }
}

describe('events$ timing fields and workerStatus() (FakeClock)', () => {
  closeAppsAfterEach();

  it('started carries dueAt and waitMs; the outcome carries the handler time in durationMs', async () => {
    const t = await startClockedApp([Gate, TimedProcessor]);
    const queue = queueOf(t.app);
    await queue.pause('timed');
    const { id } = await queue.enqueue('gated', {});
    const stored = (await queue.getJob(id))!;
    await t.clock.advance(700);
    await queue.resume('timed');
    const started = await t.log.waitFor('started', id);
    expect(started.dueAt).toBe(stored.runAt.getTime());
    expect(started.waitMs).toBe(700);
    await t.clock.advance(250);
    t.app.get(Gate).current.resolve();
    const completed = await t.log.waitFor('completed', id);
    expect(completed.durationMs).toBe(250);
  });

  it('a failure reports durationMs on failed and dead', async () => {
    const t = await startClockedApp([Gate, TimedProcessor]);
    const { id } = await queueOf(t.app).enqueue('gated', { fail: true });
    await t.log.waitFor('started', id);
    await t.clock.advance(40);
    t.app.get(Gate).current.resolve();
    expect((await t.log.waitFor('failed', id)).durationMs).toBe(40);
    expect((await t.log.waitFor('dead', id)).durationMs).toBe(40);
  });

  it('workerStatus(): running with active handlers per queue and a fresh heartbeat; stopped after close', async () => {
    const t = await startClockedApp([Gate, TimedProcessor], { leaseMs: 300, heartbeatIntervalMs: 100 });
    const queue = queueOf(t.app);
    const { id } = await queue.enqueue('gated', {});
    await t.log.waitFor('started', id);
    const status = queue.workerStatus();
    expect(status).toMatchObject({ state: 'running', leaseMs: 300, queues: { timed: { active: 1, buffered: 0 } } });
    expect(status.workerId).toMatch(/^w-/);
    expect(status.heartbeatAgeMs).toBeLessThan(300);
    t.app.get(Gate).current.resolve();
    await t.log.waitFor('completed', id);
    expect(queue.workerStatus().queues.timed!.active).toBe(0);
    await closeApp(t.app);
    expect(queue.workerStatus()).toMatchObject({ state: 'stopped', heartbeatAgeMs: null });
  });

  it('workerStatus(): disabled on an instance that only enqueues', async () => {
    const t = await startClockedApp([], { workers: false });
    expect(queueOf(t.app).workerStatus()).toEqual({ state: 'disabled', workerId: null, heartbeatAgeMs: null, leaseMs: expect.any(Number), queues: {} });
  });

  it('oldestAvailable(): the oldest due waiting job per queue; queue names are validated', async () => {
    const t = await startClockedApp([], { workers: false });
    const queue = queueOf(t.app);
    const { id } = await queue.enqueue('gated', {}, { queue: 'timed' });
    await t.clock.advance(1500);
    await queue.enqueue('gated', {}, { queue: 'timed' });
    await queue.enqueue('gated', {}, { queue: 'other', delay: 60_000 });
    const stored = (await queue.getJob(id))!;
    expect(await queue.oldestAvailable()).toEqual([{ queue: 'timed', runAt: stored.runAt, ageMs: 1500 }]);
    expect(await queue.oldestAvailable(['other'])).toEqual([]);
    await expect(queue.oldestAvailable(['no spaces allowed'])).rejects.toThrow(/queue name/);
  });
});
