import { afterEach, describe, expect, it } from 'vitest';
import type { Storage } from '../../lib/core/storage.js';
import { MemoryStorage } from '../../lib/storage/memory/memory.storage.js';
import { newJob } from '../storage-contract/contract-harness.js';
import { availableKinds } from '../support/available-kinds.js';
import { openDataSourceHarness } from '../support/typeorm-harness.js';

type Opened = { storage: Storage; cleanup(): Promise<void> };
const kinds: Array<[string, () => Promise<Opened>]> = [['memory', async () => ({ storage: new MemoryStorage(), cleanup: async () => undefined })]];
for (const kind of await availableKinds()) kinds.push([kind, () => openDataSourceHarness(kind)]);

for (const [kind, open] of kinds) {
  describe(`release() keeps a requested cancel: ${kind}`, () => {
    let h: Opened;
    afterEach(async () => {
      await h.cleanup();
    });

    // A recurring schedule's row is released (snoozed) right after each tick: an
    // unschedule() that lands while it runs must not be forgotten by that release.
    it('a job whose cancellation was requested while it ran ends cancelled when handed back, snoozed or not', async () => {
      h = await open();
      const s = h.storage;
      const [a, b] = await s.enqueue([newJob({ uniqueKey: 'row-a' }), newJob({ uniqueKey: 'row-b' })]);
      expect(await s.claim('q', 'w1', 2, 30_000)).toHaveLength(2);
      expect((await s.cancel(a!.id))!.cancelRequested).toBe(true);
      expect((await s.cancel(b!.id))!.cancelRequested).toBe(true);
      expect((await s.release([a!.id], 'w1', new Date(Date.now() + 60_000))).sort()).toEqual([a!.id]);
      expect(await s.release([b!.id], 'w1')).toEqual([b!.id]);
      for (const id of [a!.id, b!.id]) expect(await s.get(id)).toMatchObject({ state: 'cancelled', cancelRequested: false, lockedBy: null });
      expect(await s.claim('q', 'w2', 10, 30_000)).toEqual([]);
      // Their unique keys are free again.
      expect((await s.enqueue([newJob({ uniqueKey: 'row-a' })]))[0]!.duplicate).toBe(false);
      expect((await s.stats()).find((x) => x.queue === 'q')).toMatchObject({ available: 1, scheduled: 0, running: 0 });
    });
  });
}
