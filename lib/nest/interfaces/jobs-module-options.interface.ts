import type { Type } from '@nestjs/common';
import type { JobsOptions } from '../../core/jobs-options.js';
import type { JobMiddleware } from '../../core/middleware.js';
import type { StorageConfig } from '../../storage/storage-options.js';

export interface JobsModuleOptions extends JobsOptions {
  /** Where jobs are kept; default: SQLite in `jobs.sqlite`. */
  storage?: StorageConfig;
  /**
   * Job middleware, first outermost: objects, or provider classes (resolved from the app's
   * providers, so they can inject services; a class no module provides is instantiated with
   * the dependencies the jobs module can see). Providers marked `@GlobalJobMiddleware()` run
   * outside these. See `JobMiddleware`.
   */
  middleware?: Array<JobMiddleware | Type<JobMiddleware>>;
}
