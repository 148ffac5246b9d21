import { describe, expect, it } from 'vitest';
import type { JobEntity } from '../../lib/storage/typeorm/job.entity.js';
import { TypeOrmStorage } from '../../lib/storage/typeorm/typeorm.storage.js';
import { newJob } from '../storage-contract/contract-harness.js';
import { availableKinds } from '../support/available-kinds.js';
import { freshMysqlDatabase, freshPostgresSchema, freshSqliteFile, PG_URL } from '../support/databases.js';

async function open(kind: string) {
  if (kind === 'postgres') {
    const { schema, drop } = await freshPostgresSchema();
    return { storage: await TypeOrmStorage.fromConfig({ type: 'postgres', url: PG_URL, schema, poolSize: 2 }), drop };
  }
  if (kind === 'mariadb') {
    const { url, drop } = await freshMysqlDatabase();
    return { storage: await TypeOrmStorage.fromConfig({ type: 'mariadb', url, poolSize: 2 }), drop };
  }
  const { file, remove } = freshSqliteFile();
  return { storage: await TypeOrmStorage.fromConfig({ type: 'sqlite', database: file }), drop: remove };
}

for (const kind of await availableKinds()) {
  describe(`TypeORM storage entity: ${kind}`, () => {
    it('reads jobs through the registered entity, with the same times the storage returns', async () => {
      const { storage, drop } = await open(kind);
      try {
        await storage.init();
        const [r] = await storage.enqueue([newJob({ uniqueKey: 'e', delayMs: 60_000 })]);
        const viaStorage = (await storage.get(r!.id))!;
        const repo = storage.dataSource.getRepository<JobEntity>('jobs_job');
        const row = (await repo.findOneBy({ id: r!.id }))!;
        expect(row).toMatchObject({ queue: 'q', state: 'scheduled', uniqueKey: 'e', uniqueActive: 'e' });
        expect(row.runAt).toBeInstanceOf(Date);
        expect(row.runAt.getTime()).toBe(viaStorage.runAt.getTime());
        expect(String(row.id)).toBe(r!.id);
      } finally {
        await storage.close();
        await drop();
      }
    });
  });
}
