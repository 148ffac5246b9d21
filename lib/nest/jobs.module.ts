import { Module, type DynamicModule } from '@nestjs/common';
import { JobsCoreModule } from './jobs-core.module.js';
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
    return withCore(super.forRoot(options));
  }

  static override forRootAsync(options: typeof JOBS_ASYNC_OPTIONS_TYPE): DynamicModule {
    return withCore(super.forRootAsync(options));
  }
}

function withCore(definition: DynamicModule): DynamicModule {
  return {
    ...definition,
    global: true,
    imports: [...(definition.imports ?? []), JobsCoreModule],
    exports: [...(definition.exports ?? []), JOBS_MODULE_OPTIONS],
  };
}
