import type { INestApplication } from '@nestjs/common';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobsRuntime } from '../../lib/core/jobs-runtime.js';
import { QueueService } from '../../lib/index.js';
import { JOBS_RUNTIME } from '../../lib/nest/jobs.constants.js';
import { TypeOrmStorage } from '../../lib/storage/typeorm/typeorm.storage.js';
import { featureKinds, openTarget, startInstance, type FeatureTarget } from '../support/feature-targets.js';

for (const kind of await featureKinds()) {
  describe(`QueueService.recount() on ${kind}`, () => {
    let target: FeatureTarget;
    let app: INestApplication | null = null;
    beforeEach(async () => {
      target = await openTarget(kind);
    });
    afterEach(async () => {
      await app?.close();
      app = null;
      await target.cleanup();
    });

    it('repairs a count skewed by hand and says how many were off', async () => {
      app = await startInstance(target, [], { workers: false });
      const queue = app.get(QueueService);
      await queue.enqueueMany([1, 2, 3].map((i) => ({ name: 'report', payload: { i }, options: { queue: 'rq' } })));
      const storage = app.get<JobsRuntime>(JOBS_RUNTIME).storage;
      if (!(storage instanceof TypeOrmStorage)) {
        expect(await queue.recount()).toBe(0); // the memory storage counts its jobs: nothing to repair
        return;
      }
      // A hand edit: four running jobs that do not exist.
      await storage.dataSource.query(`INSERT INTO ${storage.dialect.tables.counters} (grain, bucket, queue, event, n) VALUES ('s', 0, 'rq', 'running', 4)`);
      expect((await queue.stats()).find((q) => q.queue === 'rq')).toMatchObject({ available: 3, running: 4 });
      expect(await queue.recount()).toBe(1);
      expect((await queue.stats()).find((q) => q.queue === 'rq')).toMatchObject({ available: 3, running: 0 });
      expect(await queue.recount()).toBe(0);
    });
  });
}
