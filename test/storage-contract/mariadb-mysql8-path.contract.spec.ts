import { expect, it } from 'vitest';
import { MYSQL_PATH_ENV } from '../../lib/storage/typeorm/dialects/mysql-path.js';
import { toInsertRow } from '../../lib/storage/typeorm/enqueue-plan.js';
import { TypeOrmStorage } from '../../lib/storage/typeorm/typeorm.storage.js';
import { databaseAvailable, freshMysqlDatabase, sleep } from '../support/databases.js';
import { mysql8ModeDataSource } from '../support/mysql8-mode.js';
import { counterSkew } from '../support/skew-counts.js';
import { describeStorageContract } from './storage-contract.js';

/**
 * The MySQL 8 statements (no RETURNING anywhere, MySQL-valid migrations), forced on MariaDB,
 * on connections in MySQL 8's default sql_mode: no MySQL server is needed to run the whole
 * contract on that path. This file runs in a process of its own, so the switch reaches only
 * its storages.
 */
process.env[MYSQL_PATH_ENV] = 'no-returning';

if (await databaseAvailable('mariadb')) {
  it('the storages of this file take the MySQL 8 path (no RETURNING)', async () => {
    const { url, drop } = await freshMysqlDatabase();
    const storage = await TypeOrmStorage.fromConfig({ type: 'mariadb', url, poolSize: 1 });
    try {
      await storage.init();
      const job = { queue: 'q', name: 'a', payload: '{}', priority: 0, maxAttempts: 1 };
      const row = toInsertRow(job);
      const d = storage.dialect;
      for (const flow of [d.insert([row]), d.insertClaimed!(row, 'w', 1000), d.prune(new Date(), 'dead', 10, null)]) {
        expect(flow.make().next().value).toMatchObject({ text: expect.not.stringMatching(/RETURNING/) });
      }
      const [first, second] = await storage.enqueue([job, { ...job, uniqueKey: 'k' }]);
      expect(BigInt(second!.id) - BigInt(first!.id)).toBe(1n);
    } finally {
      await storage.close();
      await drop();
    }
  });

  describeStorageContract('mariadb (MySQL 8 path)', async () => {
    const { url, drop } = await freshMysqlDatabase();
    const dataSource = await mysql8ModeDataSource(url);
    const storage = await TypeOrmStorage.fromDataSource(dataSource, { dataSource });
    await storage.init();
    return {
      storage,
      advance: sleep,
      claimsOnEnqueue: true,
      skewStateCount: counterSkew(storage),
      cleanup: async () => {
        await storage.close();
        await dataSource.destroy();
        await drop();
      },
    };
  });
}
