import type { INestApplication } from '@nestjs/common';
import { filter, firstValueFrom, take, timeout } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Job, Processor, QueueService } from '../../lib/index.js';
import { TypeOrmStorage } from '../../lib/storage/typeorm/typeorm.storage.js';
import { deferred } from '../fixtures/deferred.js';
import { databaseAvailable } from '../support/databases.js';
import { openTarget, startInstance, type FeatureTarget } from '../support/feature-targets.js';

let started = deferred<number>();

@Processor('later')
class LaterProcessor {
  @Job('remind')
  remind() {
    started.resolve(Date.now());
  }
}

if (await databaseAvailable('postgres')) {
  describe('PostgreSQL: a job delayed by another instance starts when due, through NOTIFY', () => {
    let target: FeatureTarget;
    const apps: INestApplication[] = [];

    beforeEach(async () => {
      target = await openTarget('postgres');
      started = deferred<number>();
    });
    afterEach(async () => {
      for (const app of apps.splice(0)) await app.close();
      await target.cleanup();
    });

    it('a worker polling once a minute starts a job delayed 300 ms by an enqueue-only instance within about 300 ms', async () => {
      // The worker's own storage, so the test can wait until its LISTEN is up.
      const workerStorage = await TypeOrmStorage.fromConfig(target.storage() as Parameters<typeof TypeOrmStorage.fromConfig>[0]);
      const listening = firstValueFrom(workerStorage.listenerEvents().pipe(filter((e) => e.type === 'listening'), take(1), timeout(5_000)));
      apps.push(await startInstance(target, [LaterProcessor], { storage: { instance: workerStorage }, pollIntervalMs: 60_000 }));
      const producerApp = await startInstance(target, [LaterProcessor], { workers: false });
      apps.push(producerApp);
      await listening;

      const enqueuedAt = Date.now();
      await producerApp.get(QueueService).enqueue('remind', {}, { delay: 300 });
      let timer: ReturnType<typeof setTimeout> | undefined;
      const startedAt = await Promise.race([
        started.promise,
        new Promise<number>((_, reject) => {
          timer = setTimeout(() => reject(new Error('the delayed job did not start within 5 s (left to the 60 s poll)')), 5_000);
        }),
      ]).finally(() => clearTimeout(timer));
      const waited = startedAt - enqueuedAt;
      expect(waited).toBeGreaterThanOrEqual(290);
      // ~300–500 ms on an idle machine; the bound leaves room for a loaded one, far below the poll.
      expect(waited).toBeLessThan(2_000);
    });
  });
}
