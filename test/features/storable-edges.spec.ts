import type { INestApplication } from '@nestjs/common';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidOptionsError, Job, Processor, QueueService, type EnqueueOptions } from '../../lib/index.js';
import { featureKinds, openTarget, startInstance, type FeatureTarget } from '../support/feature-targets.js';
import { EARLIEST, LATEST, MAX_DELAY, MAX_RETRIES } from '../fixtures/storable-limits.js';


@Processor('edges')
class EdgeProcessor {
  @Job('edge')
  edge(payload: { n: number }) {
    return { n: payload.n };
  }
}

for (const kind of await featureKinds()) {
  describe(`dates and counts at the edge of what every storage holds: ${kind}`, () => {
    let target: FeatureTarget;
    const apps: INestApplication[] = [];
    const instance = async (workers: boolean) => {
      const app = await startInstance(target, [EdgeProcessor], { workers });
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

    it('the earliest and latest runAt, the longest delay and the most retries are stored and read back intact', async () => {
      const producer = await instance(false);
      const latest = await producer.enqueue('edge', { n: 1 }, { runAt: new Date(LATEST), maxRetries: MAX_RETRIES });
      const before = Date.now();
      const delayed = await producer.enqueue('edge', { n: 2 }, { delay: MAX_DELAY });
      const after = Date.now();
      const earliest = await producer.enqueue('edge', { n: 3 }, { runAt: new Date(EARLIEST), maxRetries: MAX_RETRIES });

      expect(await producer.getJob(latest.id)).toMatchObject({ state: 'scheduled', runAt: new Date(LATEST), maxAttempts: 2 ** 31 - 1 });
      expect(await producer.getJob(earliest.id)).toMatchObject({ runAt: new Date(EARLIEST), maxAttempts: 2 ** 31 - 1 });
      const delayedAt = (await producer.getJob(delayed.id))!.runAt.getTime();
      // The storage adds the delay to its own clock: allow a little drift from this process's.
      expect(delayedAt).toBeGreaterThanOrEqual(before + MAX_DELAY - 5_000);
      expect(delayedAt).toBeLessThanOrEqual(after + MAX_DELAY + 5_000);

      // The job due since year 1000 with the most retries runs (MariaDB once stored 2^31 and never ran it).
      const worker = await instance(true);
      expect(await worker.waitFor(earliest.id, { timeoutMs: 10_000 })).toEqual({ n: 3 });
      expect(await worker.getJob(earliest.id)).toMatchObject({ state: 'completed', attempt: 1, maxAttempts: 2 ** 31 - 1 });
      expect((await worker.getJob(latest.id))!.state).toBe('scheduled');
    });

    it.each<[string, EnqueueOptions, string]>([
      ['delay: 3e14', { delay: 3e14 }, 'delay'],
      ['delay: MAX_SAFE_INTEGER', { delay: Number.MAX_SAFE_INTEGER }, 'delay'],
      ['runAt in year 10000', { runAt: new Date('+010000-01-01T00:00:00Z') }, 'runAt'],
      ['runAt at the earliest Date', { runAt: new Date(-8.64e15) }, 'runAt'],
      ['runAt before year 0', { runAt: new Date('-000001-06-01T00:00:00Z') }, 'runAt'],
      ['maxRetries: 2**31', { maxRetries: 2 ** 31 }, 'maxRetries'],
    ])('past the edge (%s): InvalidOptionsError, nothing stored', async (_what, options, option) => {
      const producer = await instance(false);
      const err = await producer.enqueue('edge', { n: 0 }, options).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidOptionsError);
      expect(err).toMatchObject({ option });
      expect((await producer.list({})).jobs).toEqual([]);
    });
  });
}
