import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EntityManager } from 'typeorm';
import { InvalidOptionsError } from '../../lib/errors/invalid-options.error.js';
import { TypeOrmStorage } from '../../lib/storage/typeorm/typeorm.storage.js';
import { newJob, numeric } from '../storage-contract/contract-harness.js';
import { availableKinds } from '../support/available-kinds.js';
import { freshSqliteFile } from '../support/databases.js';
import { openDataSourceHarness, type DataSourceHarness } from '../support/typeorm-harness.js';

class Rollback extends Error {}

for (const kind of await availableKinds()) {
  describe(`TypeORM storage transactions: ${kind}`, () => {
    let h: DataSourceHarness;
    beforeEach(async () => {
      h = await openDataSourceHarness(kind);
    });
    afterEach(async () => {
      await h.cleanup();
    });

    it("enqueue with the caller's EntityManager commits with the caller's transaction", async () => {
      const [r] = await h.dataSource.transaction(async (manager) => {
        await manager.query(h.insertNote, ['signed up']);
        return h.storage.enqueue([newJob({ uniqueKey: 'welcome' })], { manager });
      });
      expect(await h.notes()).toEqual(['signed up']);
      expect(await h.storage.get(r!.id)).toMatchObject({ state: 'available', uniqueKey: 'welcome' });
      const [claimed] = await h.storage.claim('q', 'w1', 1, 30_000);
      expect(claimed!.id).toBe(r!.id);
    });

    it("enqueue with the caller's EntityManager is rolled back with it: no job, key free", async () => {
      let id = '';
      await expect(
        h.dataSource.transaction(async (manager) => {
          await manager.query(h.insertNote, ['signed up']);
          id = (await h.storage.enqueue([newJob({ uniqueKey: 'welcome' })], { manager }))[0]!.id;
          throw new Rollback();
        }),
      ).rejects.toBeInstanceOf(Rollback);
      expect(id).not.toBe('');
      expect(await h.notes()).toEqual([]);
      expect(await h.storage.get(id)).toBeNull();
      expect(await h.storage.claim('q', 'w1', 10, 30_000)).toEqual([]);
      expect((await h.storage.enqueue([newJob({ uniqueKey: 'welcome' })]))[0]!.duplicate).toBe(false);
    });

    it('an id seen inside a rolled-back transaction never names another job; ids keep increasing', async () => {
      const [first] = await h.storage.enqueue([newJob()]);
      let seen: string[] = [];
      await expect(
        h.dataSource.transaction(async (manager) => {
          seen = (await h.storage.enqueue([newJob(), newJob({ uniqueKey: 'k' })], { manager })).map((r) => r.id);
          throw new Rollback();
        }),
      ).rejects.toBeInstanceOf(Rollback);
      expect(seen).toHaveLength(2);
      // The next jobs, one at a time, a batch, and the local hand-off: none takes a rolled-back id.
      const later = [
        ...(await h.storage.enqueue([newJob()])),
        ...(await h.storage.enqueue([newJob(), newJob({ uniqueKey: 'k' }), newJob()])),
        (await h.storage.enqueueClaimed(newJob({ queue: 'hand' }), 'w1', 30_000)).result,
      ].map((r) => r.id);
      for (const id of later) expect(seen).not.toContain(id);
      const ids = [first!.id, ...later];
      expect([...ids].sort(numeric)).toEqual(ids);
      expect(new Set(ids).size).toBe(ids.length);
    });

    it('inside the transaction, a duplicate of a job enqueued earlier in it is detected', async () => {
      await h.dataSource.transaction(async (manager) => {
        const [a] = await h.storage.enqueue([newJob({ uniqueKey: 'k' })], { manager });
        const [b] = await h.storage.enqueue([newJob({ uniqueKey: 'k' })], { manager });
        expect(b).toEqual({ id: a!.id, duplicate: true });
      });
    });

    it("close() leaves the app's DataSource open", async () => {
      await h.storage.close();
      expect(h.dataSource.isInitialized).toBe(true);
      expect(await h.notes()).toEqual([]);
    });

    it('refuses an EntityManager of another DataSource', async () => {
      const { file, remove } = freshSqliteFile();
      const other = await TypeOrmStorage.fromConfig({ type: 'sqlite', database: file });
      await other.init();
      try {
        await expect(h.dataSource.transaction((manager) => other.enqueue([newJob()], { manager }))).rejects.toBeInstanceOf(InvalidOptionsError);
      } finally {
        await other.close();
        await remove();
      }
    });

    it("completeWithin commits the handler's writes and the completion together", async () => {
      const [r] = await h.storage.enqueue([newJob()]);
      await h.storage.claim('q', 'w1', 1, 30_000);
      const out = await h.storage.completeWithin(r!.id, 'w1', async (manager) => {
        await (manager as EntityManager).query(h.insertNote, ['charged']);
        // The handler's own storage calls (progress) work inside the transaction too.
        await h.storage.progress(r!.id, 'w1', 50, '{"step":"charge"}');
        return { charged: true };
      }, (v) => JSON.stringify(v));
      expect(out).toEqual({ held: true, value: { charged: true } });
      expect(await h.notes()).toEqual(['charged']);
      expect(await h.storage.get(r!.id)).toMatchObject({ state: 'completed', result: { charged: true }, progress: 50 });
      const st = (await h.storage.stats()).find((s) => s.queue === 'q')!;
      expect(st.completed.allTime).toBe(1);
    });

    it("completeWithin rolls the handler's writes back when the lease was lost", async () => {
      const [r] = await h.storage.enqueue([newJob()]);
      await h.storage.claim('q', 'w1', 1, 30_000);
      const out = await h.storage.completeWithin(r!.id, 'someone-else', async (manager) => {
        await (manager as EntityManager).query(h.insertNote, ['charged']);
        return 42;
      }, () => null);
      expect(out).toEqual({ held: false, value: 42 });
      expect(await h.notes()).toEqual([]);
      expect(await h.storage.get(r!.id)).toMatchObject({ state: 'running', lockedBy: 'w1' });
    });

    it("completeWithin: the handler's own storage calls do not wait for its transaction", async () => {
      const [r] = await h.storage.enqueue([newJob()]);
      await h.storage.claim('q', 'w1', 1, 30_000);
      const out = await h.storage.completeWithin(r!.id, 'w1', async () => {
        // More than one INSERT statement's worth, which the storage runs in a transaction.
        const res = await h.storage.enqueue(Array.from({ length: 5200 }, () => newJob({ queue: 'fan-out' })));
        return res.length;
      }, () => null);
      expect(out).toEqual({ held: true, value: 5200 });
      const st = (await h.storage.stats()).find((x) => x.queue === 'fan-out')!;
      expect(st.available).toBe(5200);
    });

    it('completeWithin rolls back and rethrows when the work throws', async () => {
      const [r] = await h.storage.enqueue([newJob()]);
      await h.storage.claim('q', 'w1', 1, 30_000);
      await expect(
        h.storage.completeWithin(r!.id, 'w1', async (manager) => {
          await (manager as EntityManager).query(h.insertNote, ['charged']);
          throw new Error('card declined');
        }, () => null),
      ).rejects.toThrow('card declined');
      expect(await h.notes()).toEqual([]);
      expect(await h.storage.get(r!.id)).toMatchObject({ state: 'running', lockedBy: 'w1' });
    });

    if (kind === 'sqlite') {
      it("SQLite: a write waits for an app transaction on the shared connection instead of joining it", async () => {
        await h.storage.enqueue([newJob()]);
        let claimed: Promise<unknown> | null = null;
        await expect(
          h.dataSource.transaction(async (manager) => {
            await manager.query(h.insertNote, ['inside']);
            claimed = h.storage.claim('q', 'w1', 1, 30_000);
            // Give the claim every chance to run now; it must wait for our commit/rollback.
            await new Promise((r) => setTimeout(r, 30));
            throw new Rollback();
          }),
        ).rejects.toBeInstanceOf(Rollback);
        expect(await claimed).toHaveLength(1);
        expect(await h.notes()).toEqual([]);
        expect((await h.storage.list({ state: 'running' })).jobs).toHaveLength(1);
      });
    }
  });
}
