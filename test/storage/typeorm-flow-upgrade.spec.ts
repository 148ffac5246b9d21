import { describe, expect, it } from 'vitest';
import type { NewFlowNode } from '../../lib/core/job-record.js';
import { MIGRATIONS } from '../../lib/storage/typeorm/migrations/migrator.js';
import { TypeOrmStorage } from '../../lib/storage/typeorm/typeorm.storage.js';
import { newJob } from '../storage-contract/contract-harness.js';
import { availableKinds } from '../support/available-kinds.js';
import { freshMysqlDatabase, freshPostgresSchema, freshSqliteFile, PG_URL } from '../support/databases.js';
import type { DbKind } from '../support/typeorm-harness.js';

async function place(kind: DbKind) {
  if (kind === 'postgres') {
    const { schema, drop } = await freshPostgresSchema();
    return { open: () => TypeOrmStorage.fromConfig({ type: 'postgres', url: PG_URL, schema, poolSize: 2 }), drop };
  }
  if (kind === 'mariadb') {
    const { url, drop } = await freshMysqlDatabase();
    return { open: () => TypeOrmStorage.fromConfig({ type: 'mariadb', url, poolSize: 2 }), drop };
  }
  const { file, remove } = freshSqliteFile();
  return { open: () => TypeOrmStorage.fromConfig({ type: 'sqlite', database: file }), drop: remove };
}

const flow = (children: number): NewFlowNode => ({
  job: newJob({ name: 'parent' }),
  onChildFailure: 'fail',
  children: Array.from({ length: children }, () => ({ job: newJob({ name: 'child' }), onChildFailure: 'fail' as const, children: [] })),
});

for (const kind of await availableKinds()) {
  const migrations = MIGRATIONS[kind === 'mariadb' ? 'mysql' : kind];

  describe(`flows on the ${kind} storage: upgrade and repair`, () => {
    it('migration 9 on a database with jobs keeps every job as it was and never reuses an id', async () => {
      const p = await place(kind);
      const nine = migrations.splice(migrations.findIndex((m) => m.version === 9), 1);
      let before: TypeOrmStorage | undefined;
      let after: TypeOrmStorage | undefined;
      try {
        before = await p.open();
        await before.init();
        // The code of this version reads the new columns: the rows of the old schema are written by hand.
        const t = before.dialect.tables.jobs;
        const now = kind === 'postgres' ? 'now()' : kind === 'mariadb' ? 'UTC_TIMESTAMP(3)' : String(Date.now());
        for (const [queue, state, result] of [['q', 'available', null], ['other', 'completed', '{"ok":1}'], ['q', 'dead', null]] as const) {
          await before.dataSource.query(
            `INSERT INTO ${t} (queue, name, payload, state, priority, attempt, max_attempts, run_at, created_at, result)
             VALUES ('${queue}', 'job', '{"n":1}', '${state}', 0, 1, 3, ${now}, ${now}, ${result === null ? 'NULL' : `'${result}'`})`,
          );
        }
        const rows = (await before.dataSource.query(`SELECT id, queue, state FROM ${t} ORDER BY id`)) as Array<{ id: unknown; queue: string; state: string }>;
        const ids = rows.map((r) => String(r.id));
        const last = ids[2]!;
        await before.dataSource.query(`DELETE FROM ${t} WHERE id = ${Number(last)}`);
        await before.close();
        migrations.push(...nine);

        after = await p.open();
        await after.init();
        expect(await after.get(ids[0]!)).toMatchObject({ queue: 'q', state: 'available', payload: { n: 1 }, attempt: 1, maxAttempts: 3, parentId: null, batchId: null });
        expect(await after.get(ids[1]!)).toMatchObject({ queue: 'other', state: 'completed', result: { ok: 1 } });
        expect(await after.get(last)).toBeNull();
        const [next] = await after.enqueue([newJob()]);
        expect(Number(next!.id)).toBeGreaterThan(Number(last));
        const tree = await after.enqueueFlow(flow(2));
        expect((await after.get(tree.id))!.state).toBe('waiting');
        expect((await after.list({ state: 'available', queue: 'q' })).jobs.map((j) => j.id).sort()).toEqual([ids[0]!, next!.id, ...tree.children.map((c) => c.id)].sort());
      } finally {
        if (!migrations.some((m) => m.version === 9)) migrations.push(...nine);
        await before?.close();
        await after?.close();
        await p.drop();
      }
    });

    it('the rescuer repairs a parent whose finished children were not counted, or whose counter is off', async () => {
      const p = await place(kind);
      const s = await p.open();
      try {
        await s.init();
        const t = s.dialect.tables.jobs;
        // A child finished by a writer that did not count it.
        const one = await s.enqueueFlow(flow(1));
        await s.dataSource.query(`UPDATE ${t} SET state = 'completed' WHERE id = ${Number(one.children[0]!.id)}`);
        expect((await s.get(one.id))!.state).toBe('waiting');
        // A parent whose children are all finished and counted, but whose counter says otherwise.
        const two = await s.enqueueFlow(flow(2));
        const claimed = await s.claim('q', 'w1', 10, 30_000);
        await s.complete(claimed.filter((j) => j.parentId === two.id).map((j) => ({ id: j.id, workerId: 'w1' })));
        await s.dataSource.query(`UPDATE ${t} SET state = 'waiting', pending_children = 5 WHERE id = ${Number(two.id)}`);
        await s.rescue();
        expect((await s.get(one.id))!.state).toBe('available');
        expect((await s.get(two.id))!.state).toBe('available');
        expect(await s.rescue()).toBe(0);
      } finally {
        await s.close();
        await p.drop();
      }
    });
  });
}
