import type { Storage } from '../../core/storage.js';
import { StorageUnavailableError } from '../../errors/storage-unavailable.error.js';
import type { DataSourceStorageConfig, SqliteStorageConfig, ServerStorageConfig } from '../../interfaces/storage-options.interface.js';

// Placeholder until the TypeORM storage lands: the factory's import target.
export class TypeOrmStorage {
  static async fromConfig(_cfg: SqliteStorageConfig | ServerStorageConfig): Promise<Storage> {
    throw new StorageUnavailableError('the TypeORM storage is not built yet');
  }
  static async fromDataSource(_ds: unknown, _cfg: DataSourceStorageConfig): Promise<Storage> {
    throw new StorageUnavailableError('the TypeORM storage is not built yet');
  }
}
