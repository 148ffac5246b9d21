import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { JobsCoreModule } from './jobs-core.module.js';
import { jobsDataSourceProvider } from './jobs-data-source.provider.js';
import { JOBS_DATA_SOURCE } from './jobs.constants.js';
import {
  ConfigurableJobsModule,
  JOBS_ASYNC_OPTIONS_TYPE,
  JOBS_MODULE_OPTIONS,
  JOBS_OPTIONS_TYPE,
} from './jobs.module-definition.js';

/**
 * `JobsModule.forRoot({ storage, queues })` or `forRootAsync({ imports, inject, useFactory })`,
 * once, in the root module. `QueueService` is then injectable everywhere.
 */
@Module({})
export class JobsModule extends ConfigurableJobsModule {
  static override forRoot(options: typeof JOBS_OPTIONS_TYPE = {}): DynamicModule {
    return withCore(super.forRoot(options), jobsDataSourceProvider(options.storage));
  }

  static override forRootAsync(options: typeof JOBS_ASYNC_OPTIONS_TYPE): DynamicModule {
    return withCore(super.forRootAsync(options), jobsDataSourceProvider(undefined));
  }
}

function withCore(definition: DynamicModule, dataSource: Provider): DynamicModule {
  return {
    ...definition,
    global: true,
    imports: [...(definition.imports ?? []), JobsCoreModule],
    providers: [...(definition.providers ?? []), dataSource],
    exports: [...(definition.exports ?? []), JOBS_MODULE_OPTIONS, JOBS_DATA_SOURCE],
  };
}
