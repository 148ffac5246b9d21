import type { INestApplication } from '@nestjs/common';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock, type Clock } from '../../lib/core/clock.js';
import { Job, Processor, QueueService } from '../../lib/index.js';
import { sleep } from '../support/databases.js';
import { featureKinds, openTarget, startInstance, type FeatureTarget } from '../support/feature-targets.js';

@Processor('skew')
class SkewProcessor {
  @Job('refresh')
  refresh() {}
}

/** The system clock, `offsetMs` off: an instance whose clock is wrong by that much. */
const skewedClock = (offsetMs: number): Clock => ({ ...systemClock, now: () => Date.now() + offsetMs });

const TWO_MINUTES = 120_000;

// Two producers (no workers: the jobs stay waiting, holding their keys) whose clocks are two
// minutes apart, on one storage: the storage's clock decides when a unique window ends.
for (const kind of await featureKinds()) {
  describe(`unique windows across instances whose clocks differ by two minutes: ${kind}`, () => {
    let target: FeatureTarget;
    const apps: INestApplication[] = [];
    const producer = async (offsetMs: number) => {
      const app = await startInstance(target, [SkewProcessor], { workers: false, clock: skewedClock(offsetMs) });
      apps.push(app);
      return app.get(QueueService);
    };

    beforeEach(async () => {
      target = await openTarget(kind);
    });
    afterEach(async () => {
      for (const app of apps.splice(0)) await app.close();
      await target.cleanup();
    });

    it('one job per key per window, whichever instance enqueues', async () => {
      const behind = await producer(0);
      const ahead = await producer(TWO_MINUTES);
      const minute = { uniqueKey: 'report:42', unique: { ttlMs: 60_000 } };
      const first = await behind.enqueue('refresh', {}, minute);
      expect(first.duplicate).toBe(false);
      expect(await ahead.enqueue('refresh', {}, minute)).toEqual({ id: first.id, duplicate: true });
      expect(await behind.enqueue('refresh', {}, minute)).toEqual({ id: first.id, duplicate: true });
      expect(await ahead.enqueue('refresh', {}, minute)).toEqual({ id: first.id, duplicate: true });
      expect((await behind.list({ name: 'refresh' })).jobs.map((j) => j.id)).toEqual([first.id]);
    });

    it('a short window ends on the storage clock: not early for the instance ahead, not late for the one behind', async () => {
      const behind = await producer(0);
      const ahead = await producer(TWO_MINUTES);
      const short = { uniqueKey: 'short', unique: { ttlMs: 500 } };
      const first = await behind.enqueue('refresh', {}, short);
      // Two minutes ahead, this instance would think the window long gone.
      expect(await ahead.enqueue('refresh', {}, short)).toEqual({ id: first.id, duplicate: true });
      await sleep(600);
      const second = await ahead.enqueue('refresh', {}, short);
      expect(second.duplicate).toBe(false);
      // Two minutes behind the other, this one would think the new window not yet begun.
      expect(await behind.enqueue('refresh', {}, short)).toEqual({ id: second.id, duplicate: true });
      const ids = (await behind.list({ name: 'refresh' })).jobs.map((j) => j.id);
      expect(ids.sort()).toEqual([first.id, second.id].sort());
      expect((await behind.getJob(second.id))!.uniqueKey).toBe('short');
    });
  });
}
