import { TypeOrmStorage } from '../../lib/storage/typeorm/typeorm.storage.js';
import { freshSqliteFile, sleep } from '../support/databases.js';
import { counterSkew } from '../support/skew-counts.js';
import { describeStorageContract } from './storage-contract.js';

describeStorageContract('sqlite', async () => {
  const { file, remove } = freshSqliteFile();
  const storage = await TypeOrmStorage.fromConfig({ type: 'sqlite', database: file });
  await storage.init();
  return {
    storage,
    advance: sleep,
    claimsOnEnqueue: true,
    skewStateCount: counterSkew(storage),
    cleanup: async () => {
      await storage.close();
      await remove();
    },
  };
});
