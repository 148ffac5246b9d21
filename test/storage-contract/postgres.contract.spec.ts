import { TypeOrmStorage } from '../../lib/storage/typeorm/typeorm.storage.js';
import { databaseAvailable, freshPostgresSchema, PG_URL, sleep } from '../support/databases.js';
import { counterSkew } from '../support/skew-counts.js';
import { describeStorageContract } from './storage-contract.js';

if (await databaseAvailable('postgres')) {
  describeStorageContract('postgres', async () => {
    const { schema, drop } = await freshPostgresSchema();
    const storage = await TypeOrmStorage.fromConfig({ type: 'postgres', url: PG_URL, schema, poolSize: 4 });
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
