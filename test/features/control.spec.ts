import type { INestApplication } from '@nestjs/common';
import { filter, firstValueFrom, take, timeout } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  Job,
  JobCancelledError,
  JobFailedError,
  MaxRetries,
  Processor,
  QueueService,
  WaitTimeoutError,
  type JobContext,
  type JobEvent,
} from '../../lib/index.js';
import { TypeOrmStorage } from '../../lib/storage/typeorm/typeorm.storage.js';
import { deferred } from '../fixtures/deferred.js';
import { featureKinds, openTarget, startInstance, until, type FeatureTarget } from '../support/feature-targets.js';

let gate = deferred();
let started = deferred<JobContext>();
const startedIds: string[] = [];

@Processor({ queue: 'ctl', maxRetries: MaxRetries.count(0) })
class ControlProcessor {
  @Job('echo')
  echo(payload: { v: number }) {
    return { doubled: payload.v * 2 };
  }

  @Job('boom')
  boom() {
    throw new Error('kaput');
  }

  @Job('block')
  async block(_p: unknown, ctx: JobContext) {
    startedIds.push(ctx.id);
    started.resolve(ctx);
    await new Promise<void>((resolve, reject) => {
      ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
      void gate.promise.then(resolve);
    });
    return 'unblocked';
  }
}

for (const kind of await featureKinds()) {
  describe(`control of queues and jobs: ${kind}`, () => {
    let target: FeatureTarget;
    const apps: INestApplication[] = [];
    const instance = async (workers = true, heartbeatIntervalMs?: number) => {
      const app = await startInstance(target, [ControlProcessor], { workers, ...(heartbeatIntervalMs ? { heartbeatIntervalMs, leaseMs: heartbeatIntervalMs * 3 } : {}) });
      apps.push(app);
      return app;
    };

    beforeEach(async () => {
      target = await openTarget(kind);
    });
    afterEach(async () => {
      gate.resolve();
      for (const app of apps.splice(0)) await app.close();
      await target.cleanup();
      gate = deferred();
      started = deferred();
      startedIds.length = 0;
    });

    it('waitFor resolves with the result from another instance, rejects when the job dies', async () => {
      const queue = (await instance(false)).get(QueueService);
      const { id } = await queue.enqueue('echo', { v: 21 });
      const bad = await queue.enqueue('boom', {});
      await instance(); // the worker runs elsewhere
      await expect(queue.waitFor(id, { timeoutMs: 5_000 })).resolves.toEqual({ doubled: 42 });
      const err = await queue.waitFor(bad.id, { timeoutMs: 5_000 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(JobFailedError);
      expect((err as JobFailedError).message).toMatch(/dead: Error: kaput/);
    });

    it('waitFor times out with WaitTimeoutError and leaves the job alone', async () => {
      const queue = (await instance(false)).get(QueueService);
      const { id } = await queue.enqueue('echo', { v: 1 });
      await expect(queue.waitFor(id, { timeoutMs: 30 })).rejects.toBeInstanceOf(WaitTimeoutError);
      expect((await queue.getJob(id))!.state).toBe('available');
    });

    it(`cancel of a running job on another instance aborts its signal ${kind === 'postgres' ? 'at once (NOTIFY)' : 'at the next heartbeat'} and ends it cancelled`, async () => {
      // On PostgreSQL heartbeats are far apart: only the NOTIFY can deliver the cancel in time,
      // once the worker's LISTEN is up (it connects in the background; the job may start by poll first).
      let listening: Promise<unknown> = Promise.resolve();
      let worker: INestApplication;
      if (kind === 'postgres') {
        const workerStorage = await TypeOrmStorage.fromConfig(target.storage() as Parameters<typeof TypeOrmStorage.fromConfig>[0]);
        listening = firstValueFrom(workerStorage.listenerEvents().pipe(filter((e) => e.type === 'listening'), take(1), timeout(10_000)));
        worker = await startInstance(target, [ControlProcessor], { storage: { instance: workerStorage }, heartbeatIntervalMs: 20_000, leaseMs: 60_000 });
        apps.push(worker);
      } else {
        worker = await instance(true);
      }
      const other = (await instance(false)).get(QueueService);
      await listening;
      const events: JobEvent[] = [];
      worker.get(QueueService).events$.subscribe((e) => events.push(e));
      const { id } = await other.enqueue('block', {});
      const ctx = await started.promise;
      const aborted = new Promise<number>((resolve) => ctx.signal.addEventListener('abort', () => resolve(Date.now())));
      const at = Date.now();
      await other.cancel(id);
      expect((await aborted) - at).toBeLessThan(kind === 'postgres' ? 2_000 : 5_000);
      await expect(other.waitFor(id, { timeoutMs: 5_000 })).rejects.toThrow(/cancelled/);
      expect(ctx.signal.reason).toBeInstanceOf(JobCancelledError);
      await until(() => events.some((e) => e.type === 'cancelled'), 2_000, 'the cancelled event');
      expect(await other.getJob(id)).toMatchObject({ state: 'cancelled' });
    });

    it('cancel of a waiting job: it never runs', async () => {
      const producer = (await instance(false)).get(QueueService);
      const { id } = await producer.enqueue('block', {}, { delay: 150 });
      expect(await producer.cancel(id)).toMatchObject({ state: 'cancelled' });
      await instance();
      await new Promise((r) => setTimeout(r, 300));
      expect(startedIds).toEqual([]);
      expect((await producer.getJob(id))!.state).toBe('cancelled');
    });

    it('pause stops claiming on every instance within a poll interval; running jobs finish; resume picks up', async () => {
      const a = (await instance()).get(QueueService);
      await instance();
      const running = await a.enqueue('block', {});
      await started.promise;
      await a.pause('ctl');
      const { id } = await a.enqueue('echo', { v: 1 });
      await new Promise((r) => setTimeout(r, 200)); // ten poll intervals
      expect((await a.getJob(id))!.state).toBe('available');
      expect((await a.stats()).find((s) => s.queue === 'ctl')).toMatchObject({ paused: true, available: 1, running: 1 });
      gate.resolve();
      await expect(a.waitFor(running.id, { timeoutMs: 5_000 })).resolves.toBe('unblocked');
      expect((await a.getJob(id))!.state).toBe('available');
      await a.resume('ctl');
      await expect(a.waitFor(id, { timeoutMs: 5_000 })).resolves.toEqual({ doubled: 2 });
    });

    it('retryAll brings back every dead job of a queue; list pages by cursor; prune keeps stats', async () => {
      const queue = (await instance()).get(QueueService);
      const dead = [];
      for (let i = 0; i < 3; i++) dead.push((await queue.enqueue('boom', { i })).id);
      for (const id of dead) await queue.waitFor(id, { timeoutMs: 5_000 }).catch(() => undefined);
      await queue.onIdle('ctl');
      expect((await queue.list({ queue: 'ctl', state: 'dead' })).jobs).toHaveLength(3);
      const page1 = await queue.list({ queue: 'ctl', limit: 2 });
      const page2 = await queue.list({ queue: 'ctl', limit: 2, cursor: page1.nextCursor });
      expect(page1.jobs.map((j) => j.id)).toEqual([dead[2], dead[1]]);
      expect(page2.jobs.map((j) => j.id)).toEqual([dead[0]]);
      expect(page2.nextCursor).toBeNull();
      await queue.pause('ctl');
      expect(await queue.retryAll({ queue: 'ctl' })).toBe(3);
      expect((await queue.stats()).find((s) => s.queue === 'ctl')).toMatchObject({ available: 3, dead: 0 });
      await queue.resume('ctl');
      for (const id of dead) await queue.waitFor(id, { timeoutMs: 5_000 }).catch(() => undefined);
      const ok = await queue.enqueue('echo', { v: 1 });
      await queue.waitFor(ok.id, { timeoutMs: 5_000 });
      await queue.onIdle('ctl');
      const before = (await queue.stats()).find((s) => s.queue === 'ctl')!;
      expect(before).toMatchObject({ available: 0, scheduled: 0, running: 0, dead: 3 });
      expect(before.completed).toEqual({ lastHour: 1, today: 1, thisMonth: 1, allTime: 1 });
      expect(before.died.allTime).toBe(6);
      expect(await queue.prune({ olderThan: new Date(Date.now() + 1000) })).toBe(4);
      const after = (await queue.stats()).find((s) => s.queue === 'ctl')!;
      expect(after).toMatchObject({ available: 0, scheduled: 0, running: 0, dead: 0 });
      expect(after.completed).toEqual(before.completed);
      expect(after.died).toEqual(before.died);
      expect((await queue.list({ queue: 'ctl' })).jobs).toEqual([]);
      await expect(queue.prune({ olderThan: new Date(), states: ['running'] })).rejects.toThrow(/finished/);
      await expect(queue.list({ cursor: 'x; DROP TABLE' })).rejects.toThrow(/cursor/);
    });

    it('stats count scheduled and available jobs per queue and follow them as they come due', async () => {
      const queue = (await instance(false)).get(QueueService);
      await queue.enqueue('echo', { v: 1 });
      await queue.enqueue('echo', { v: 2 }, { delay: 300 });
      await queue.enqueue('echo', { v: 3 }, { delay: 3_600_000 });
      await queue.enqueue('echo', { v: 4 }, { queue: 'other' });
      const stats = await queue.stats();
      expect(stats.find((s) => s.queue === 'ctl')).toMatchObject({ available: 1, scheduled: 2, running: 0, dead: 0, paused: false });
      expect(stats.find((s) => s.queue === 'other')).toMatchObject({ available: 1, scheduled: 0 });
      await until(async () => (await queue.stats()).find((s) => s.queue === 'ctl')!.available === 2, 3_000, 'the delayed job to come due');
      expect((await queue.stats()).find((s) => s.queue === 'ctl')).toMatchObject({ available: 2, scheduled: 1 });
    });
  });
}
