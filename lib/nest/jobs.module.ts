import { Global, Module, type DynamicModule, type Provider } from '@nestjs/common';
import { DiscoveryModule, ModuleRef } from '@nestjs/core';
import { createJobsRuntime } from './jobs-runtime.factory.js';
import { jobsDataSourceProvider } from './jobs-data-source.provider.js';
import { JOBS_DATA_SOURCE, JOBS_RUNTIME } from './jobs.constants.js';
import { JobsMetadataAccessor } from './jobs-metadata.accessor.js';
import { JobsExplorer } from './jobs.explorer.js';
import {
  JOBS_ASYNC_OPTIONS_TYPE,
  JOBS_MODULE_OPTIONS,
  JOBS_OPTIONS_TYPE,
  JobsOptionsModule,
} from './jobs.module-definition.js';
import { JobsOrchestrator } from './jobs.orchestrator.js';
import { QueueService } from './queue.service.js';

/**
 * `JobsModule.forRoot({ storage, queues })` or `forRootAsync({ imports, inject, useFactory })`,
 * once, in the root module. `QueueService` is then injectable everywhere.
 *
 * The class itself is the one shared core (runtime, explorer, lifecycle, `QueueService`), a
 * static module: `forRoot()` returns a module holding the options that imports this class by
 * reference, so importing `forRoot()` more than once still gives one runtime and handlers
 * registered once, and a test can swap the whole machinery by naming the class:
 * `overrideModule(JobsModule).useModule(JobsTestingModule.forRoot())`.
 */
@Global()
@Module({
  imports: [DiscoveryModule],
  providers: [
    { provide: JOBS_RUNTIME, useFactory: createJobsRuntime, inject: [JOBS_MODULE_OPTIONS, ModuleRef, JOBS_DATA_SOURCE] },
    JobsMetadataAccessor,
    JobsExplorer,
    JobsOrchestrator,
    QueueService,
  ],
  exports: [QueueService, JOBS_RUNTIME],
})
export class JobsModule {
  static forRoot(options: typeof JOBS_OPTIONS_TYPE = {}): DynamicModule {
    return withCore(JobsOptionsModule.forRoot(options), jobsDataSourceProvider(options.storage));
  }

  static forRootAsync(options: typeof JOBS_ASYNC_OPTIONS_TYPE): DynamicModule {
    return withCore(JobsOptionsModule.forRootAsync(options), jobsDataSourceProvider(undefined));
  }
}

function withCore(definition: DynamicModule, dataSource: Provider): DynamicModule {
  return {
    ...definition,
    global: true,
    imports: [...(definition.imports ?? []), JobsModule],
    providers: [...(definition.providers ?? []), dataSource],
    exports: [...(definition.exports ?? []), JOBS_MODULE_OPTIONS, JOBS_DATA_SOURCE],
  };
}
