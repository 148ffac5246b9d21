import { TypeOrmStorage } from '../../lib/storage/typeorm/typeorm.storage.js';
import { databaseAvailable, freshMysqlDatabase, sleep } from '../support/databases.js';
import { counterSkew } from '../support/skew-counts.js';
import { describeStorageContract } from './storage-contract.js';

if (await databaseAvailable('mariadb')) {
  describeStorageContract('mariadb', async () => {
    const { url, drop } = await freshMysqlDatabase();
    const storage = await TypeOrmStorage.fromConfig({ type: 'mariadb', url, poolSize: 4 });
    await storage.init();
    return {
      storage,
      advance: sleep,
      claimsOnEnqueue: true,
      skewStateCount: counterSkew(storage),
      cleanup: async () => {
        await storage.close();
        await drop();
      },
    };
  });
}
