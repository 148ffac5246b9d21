import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newJob } from '../storage-contract/contract-harness.js';
import { availableKinds } from '../support/available-kinds.js';
import { sleep } from '../support/databases.js';
import { openDataSourceHarness, type DataSourceHarness } from '../support/typeorm-harness.js';

for (const kind of await availableKinds()) {
  describe(`TypeORM storage rescue: ${kind}`, () => {
    let h: DataSourceHarness;
    beforeEach(async () => {
      h = await openDataSourceHarness(kind);
    });
    afterEach(async () => {
      await h.cleanup();
    });

    it('a rescued job whose cancellation was requested ends cancelled, freeing its unique key', async () => {
      const s = h.storage;
      const [a] = await s.enqueue([newJob({ uniqueKey: 'c' })]);
      await s.claim('q', 'w1', 1, 60);
      expect((await s.cancel(a!.id))!.cancelRequested).toBe(true);
      await sleep(180);
      expect(await s.rescue()).toBe(1);
      expect(await s.get(a!.id)).toMatchObject({ state: 'cancelled', cancelRequested: false, lockedBy: null });
      expect((await s.get(a!.id))!.failedAt).toBeInstanceOf(Date);
      expect(await s.findByUniqueKey('c')).toBeNull();
      const [st] = (await s.stats()).filter((x) => x.queue === 'q');
      expect(st?.died.allTime ?? 0).toBe(0);
    });

    it('rescue(limit) moves at most `limit` jobs per call, oldest lease first', async () => {
      const s = h.storage;
      const ids = (await s.enqueue(Array.from({ length: 5 }, () => newJob()))).map((r) => r.id);
      for (const id of ids) {
        const [j] = await s.claim('q', `w-${id}`, 1, 50);
        expect(j!.id).toBe(id);
      }
      await sleep(150);
      expect(await s.rescue(2)).toBe(2);
      expect((await s.list({ state: 'available' })).jobs.map((j) => j.id).sort()).toEqual(ids.slice(0, 2).sort());
      expect(await s.rescue(10)).toBe(3);
    });
  });
}
