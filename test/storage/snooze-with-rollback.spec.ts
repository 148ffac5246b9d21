import { afterEach, describe, expect, it } from 'vitest';
import { TypeOrmStorage } from '../../lib/storage/typeorm/typeorm.storage.js';
import { newJob } from '../storage-contract/contract-harness.js';
import { availableKinds } from '../support/available-kinds.js';
import { freshMysqlDatabase, freshPostgresSchema, freshSqliteFile, PG_URL } from '../support/databases.js';
import type { DbKind } from '../support/typeorm-harness.js';

async function open(kind: DbKind): Promise<{ storage: TypeOrmStorage; drop(): Promise<void> }> {
  if (kind === 'postgres') {
    const { schema, drop } = await freshPostgresSchema();
    return { storage: await TypeOrmStorage.fromConfig({ type: 'postgres', url: PG_URL, schema, poolSize: 2, listen: false }), drop };
  }
  if (kind === 'mariadb') {
    const { url, drop } = await freshMysqlDatabase();
    return { storage: await TypeOrmStorage.fromConfig({ type: 'mariadb', url, poolSize: 2 }), drop };
  }
  const { file, remove } = freshSqliteFile();
  return { storage: await TypeOrmStorage.fromConfig({ type: 'sqlite', database: file }), drop: remove };
}

/** Makes the database refuse to store a job named 'boom' (test-only DDL). */
async function refuseBoom(s: TypeOrmStorage): Promise<void> {
  const t = s.dialect.tables.jobs;
  if (s.dialect.kind === 'sqlite') {
    await s.dataSource.query(`CREATE TRIGGER no_boom BEFORE INSERT ON ${t} WHEN NEW.name = 'boom' BEGIN SELECT RAISE(ABORT, 'boom refused'); END`);
  } else {
    await s.dataSource.query(`ALTER TABLE ${t} ADD CONSTRAINT no_boom CHECK (name <> 'boom')`);
  }
}

for (const kind of await availableKinds()) {
  describe(`snoozeWith on ${kind}: one transaction`, () => {
    let cleanup: () => Promise<void> = async () => undefined;
    afterEach(async () => {
      await cleanup();
    });

    it('when the tick job cannot be stored, the snooze rolls back too: the row stays held, nothing is half-done', async () => {
      const { storage: s, drop } = await open(kind);
      cleanup = async () => {
        await s.close();
        await drop();
      };
      await s.init();
      await refuseBoom(s);
      const [row] = await s.enqueue([newJob({ name: 'jobs:schedule', uniqueKey: 'sched:k' })]);
      await s.claim('q', 'w1', 1, 30_000);
      const at = new Date((await s.now()) + 60_000);

      await expect(s.snoozeWith(row!.id, 'w1', at, [newJob({ name: 'boom' })])).rejects.toThrow();
      expect(await s.get(row!.id)).toMatchObject({ state: 'running', lockedBy: 'w1', attempt: 1 });
      expect((await s.list({ name: 'boom' })).jobs).toEqual([]);
      expect((await s.stats()).find((x) => x.queue === 'q')).toMatchObject({ running: 1, scheduled: 0, available: 0 });

      // The holder can still snooze it (with a job the database takes).
      expect(await s.snoozeWith(row!.id, 'w1', at, [newJob({ name: 'fine' })])).toHaveLength(1);
      expect(await s.get(row!.id)).toMatchObject({ state: 'scheduled', lockedBy: null });
    });
  });
}
