import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Storage } from '../../lib/core/storage.js';
import { newJob, type ContractHarness } from './storage-contract.js';

/** Time unit of the cases (see storage-contract.ts). */
const T = 60;

/**
 * `enqueueClaimed` (the local hand-off). Storages that store the job claimed (`claimsOnEnqueue`)
 * and those that fall back to storing it waiting must both leave a consistent job and counts.
 */
export function describeHandoffContractCases(name: string, factory: () => Promise<ContractHarness>): void {
  describe(`Storage contract (hand-off): ${name}`, () => {
    let h: ContractHarness;
    let s: Storage;

    beforeEach(async () => {
      h = await factory();
      s = h.storage;
    });

    afterEach(async () => {
      await h.cleanup();
    });

    it('enqueueClaimed stores the job claimed by the worker (running, attempt 1, leased, counted), or waiting where the storage cannot', async () => {
      const out = await s.enqueueClaimed!(newJob({ payload: '{"x":"é"}' }), 'w1', 10_000);
      expect(out.result.duplicate).toBe(false);
      const [st] = (await s.stats()).filter((x) => x.queue === 'q');
      if (!h.claimsOnEnqueue) {
        expect(out.claimed).toBeNull();
        expect(await s.get(out.result.id)).toMatchObject({ state: 'available', attempt: 0 });
        expect(st).toMatchObject({ available: 1, running: 0 });
        return;
      }
      expect(out.claimed).toMatchObject({ id: out.result.id, queue: 'q', name: 'job', payload: { x: 'é' }, state: 'running', attempt: 1, lockedBy: 'w1' });
      expect(out.claimed!.lockedUntil!.getTime()).toBeGreaterThan((await s.now()) + 5_000);
      expect(await s.get(out.result.id)).toMatchObject({ state: 'running', attempt: 1, lockedBy: 'w1' });
      expect(st).toMatchObject({ available: 0, running: 1 });
      // Not claimable again; the holder completes it as any claimed job.
      expect(await s.claim('q', 'w2', 10, 10_000)).toEqual([]);
      expect(await s.complete([{ id: out.result.id, workerId: 'w1', result: '7' }])).toEqual([out.result.id]);
      expect(await s.get(out.result.id)).toMatchObject({ state: 'completed', result: 7 });
      const [after] = (await s.stats()).filter((x) => x.queue === 'q');
      expect(after).toMatchObject({ available: 0, running: 0, completed: { allTime: 1 } });
    });

    it('enqueueClaimed on a paused queue stores the job waiting; it is claimed after resume', async () => {
      await s.pause('q');
      const out = await s.enqueueClaimed!(newJob(), 'w1', 10_000);
      expect(out.claimed).toBeNull();
      expect(await s.get(out.result.id)).toMatchObject({ state: 'available', attempt: 0, lockedBy: null });
      await s.resume('q');
      expect((await s.claim('q', 'w2', 10, 10_000)).map((j) => j.id)).toEqual([out.result.id]);
    });

    it('a job stored claimed whose worker died is rescued when its lease expires', async () => {
      const out = await s.enqueueClaimed!(newJob(), 'w1', T);
      if (!h.claimsOnEnqueue) {
        expect(out.claimed).toBeNull();
        return;
      }
      expect(await s.rescue()).toBe(0);
      await h.advance(T * 2);
      expect(await s.rescue()).toBe(1);
      expect(await s.get(out.result.id)).toMatchObject({ state: 'available', attempt: 1, lockedBy: null });
      expect(await s.complete([{ id: out.result.id, workerId: 'w1' }])).toEqual([]);
    });
  });
}
