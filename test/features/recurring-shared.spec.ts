import type { INestApplication } from '@nestjs/common';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Job, Processor, QueueService, type JobContext, type JobRecord } from '../../lib/index.js';
import { featureKinds, openTarget, startInstance, until, type FeatureTarget } from '../support/feature-targets.js';

/** Real time: database clocks cannot be faked, so ticks are short. */
const EVERY = 200;

const runs: { id: string; name: string; payload: unknown; instance: string }[] = [];

@Processor('sched')
class TickProcessor {
  @Job('sync', { every: EVERY })
  sync(payload: unknown, ctx: JobContext) {
    runs.push({ id: ctx.id, name: 'sync', payload, instance: '' });
  }

  @Job('ping')
  ping(payload: unknown, ctx: JobContext) {
    runs.push({ id: ctx.id, name: 'ping', payload, instance: '' });
  }
}

const tickOf = (job: JobRecord) => Number(job.uniqueKey!.slice(job.uniqueKey!.lastIndexOf(':') + 1));

async function jobsNamed(queue: QueueService, name: string): Promise<JobRecord[]> {
  const out: JobRecord[] = [];
  for (let cursor: string | null = null; ; ) {
    const page = await queue.list({ name, limit: 200, cursor });
    out.push(...page.jobs);
    if (!page.nextCursor) return out;
    cursor = page.nextCursor;
  }
}

for (const kind of await featureKinds()) {
  describe(`recurring jobs on one ${kind} database shared by several instances`, () => {
    let target: FeatureTarget;
    const apps: INestApplication[] = [];
    const instance = async (workers = true) => {
      const app = await startInstance(target, [TickProcessor], { workers });
      apps.push(app);
      return app;
    };
    const closeAll = async () => {
      for (const app of apps.splice(0)) await app.close();
    };

    beforeEach(async () => {
      target = await openTarget(kind);
    });
    afterEach(async () => {
      await closeAll();
      await target.cleanup();
      runs.length = 0;
    });

    it('three instances fire each tick exactly once', async () => {
      await Promise.all([instance(), instance(), instance()]);
      await until(() => runs.filter((r) => r.name === 'sync').length >= 4, 10_000, 'four ticks');
      await closeAll();
      const viewer = (await instance(false)).get(QueueService);
      const jobs = await jobsNamed(viewer, 'sync');
      const ticks = jobs.map(tickOf);
      // One job per tick, each run once.
      expect(new Set(ticks).size).toBe(jobs.length);
      const ran = runs.filter((r) => r.name === 'sync').map((r) => r.id);
      expect(new Set(ran).size).toBe(ran.length);
      expect(ran.every((id) => jobs.some((j) => j.id === id))).toBe(true);
      // Ticks fall on the schedule's grid.
      expect(ticks.every((t) => t % EVERY === 0)).toBe(true);
      // One schedule row, however many instances registered it.
      expect((await viewer.list({ name: 'jobs:schedule' })).jobs.filter((j) => j.state !== 'cancelled')).toHaveLength(1);
    });

    it('after an outage the missed ticks fire once, then the schedule goes on', async () => {
      await instance();
      await until(() => runs.length >= 2, 5_000, 'two ticks');
      await closeAll();
      const viewer = (await instance(false)).get(QueueService);
      const lastBefore = Math.max(...(await jobsNamed(viewer, 'sync')).map(tickOf));
      await new Promise((r) => setTimeout(r, EVERY * 4)); // nobody works: four ticks missed
      const restart = Date.now();
      const before = runs.length;
      await instance();
      await until(() => runs.length >= before + 2, 5_000, 'the schedule to go on');
      const jobs = await jobsNamed(viewer, 'sync');
      const caughtUp = jobs.map(tickOf).filter((t) => t > lastBefore && t < restart - EVERY);
      expect(caughtUp).toHaveLength(1);
      // The catch-up ran once; later ticks are new ones, not the missed ones.
      expect(jobs.map(tickOf).filter((t) => t > lastBefore && t <= restart)).toHaveLength(1);
    });

    it('queue.every() from one instance runs on the others; unschedule() from another stops it', async () => {
      const a = (await instance()).get(QueueService);
      const b = (await instance()).get(QueueService);
      await a.every('ping', { hello: 'world' }, { every: EVERY, key: 'ping-fast' });
      await until(() => runs.filter((r) => r.name === 'ping').length >= 2, 5_000, 'two pings');
      expect(runs.find((r) => r.name === 'ping')!.payload).toEqual({ hello: 'world' });
      expect(await b.unschedule('ping-fast')).toBe(true);
      // Once unschedule() has resolved no ping is stored any more (a tick firing meanwhile
      // stores none), so when every stored one has completed, none can run later.
      await until(async () => (await jobsNamed(b, 'ping')).every((j) => j.state === 'completed'), 10_000, 'pings to settle');
      const count = runs.filter((r) => r.name === 'ping').length;
      await new Promise((r) => setTimeout(r, EVERY * 2));
      expect(runs.filter((r) => r.name === 'ping').length).toBe(count);
      expect(await a.unschedule('ping-fast')).toBe(false);
    });
  });
}
