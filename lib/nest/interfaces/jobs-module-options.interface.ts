import type { JobsOptions } from '../../core/jobs-options.js';
import type { StorageConfig } from '../../storage/storage-options.js';

export interface JobsModuleOptions extends JobsOptions {
  /** Where jobs are kept; default: SQLite in `jobs.sqlite`. */
  storage?: StorageConfig;
}
