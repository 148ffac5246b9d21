import type { Provider } from '@nestjs/common';
import type { StorageConfig } from '../storage/storage-options.js';
import { JOBS_DATA_SOURCE } from './jobs.constants.js';

type InjectionToken = string | symbol | Function;

/**
 * `storage: { dataSourceToken }` in `forRoot()`: the named DataSource becomes a real dependency
 * of the runtime, so Nest creates it first (e.g. `TypeOrmModule.forRoot()`'s, which is built
 * asynchronously), whichever order the modules are imported in. It is optional here: a token
 * nothing provides resolves to null, and the storage then says which token was missing.
 * `forRootAsync()` options exist only once its factory has run, too late to declare a
 * dependency: there the factory injects the DataSource itself (or the token is looked up).
 */
export function jobsDataSourceProvider(storage: StorageConfig | undefined): Provider {
  const token = dataSourceTokenOf(storage);
  if (token === undefined) return { provide: JOBS_DATA_SOURCE, useValue: null };
  return { provide: JOBS_DATA_SOURCE, useFactory: (dataSource: unknown) => dataSource ?? null, inject: [{ token, optional: true }] };
}

/** The token named by the options, when it is one (a malformed one is left to the storage to refuse). */
function dataSourceTokenOf(storage: StorageConfig | undefined): InjectionToken | undefined {
  if (typeof storage !== 'object' || storage === null || !('dataSourceToken' in storage)) return undefined;
  if ('dataSource' in storage && storage.dataSource !== undefined) return undefined;
  const token = storage.dataSourceToken;
  return typeof token === 'string' || typeof token === 'symbol' || typeof token === 'function' ? token : undefined;
}
