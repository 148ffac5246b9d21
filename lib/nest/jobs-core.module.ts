import { Global, Module } from '@nestjs/common';
import { DiscoveryModule, ModuleRef } from '@nestjs/core';
import { createJobsRuntime } from './jobs-runtime.factory.js';
import { JOBS_DATA_SOURCE, JOBS_RUNTIME } from './jobs.constants.js';
import { JobsMetadataAccessor } from './jobs-metadata.accessor.js';
import { JobsExplorer } from './jobs.explorer.js';
import { JOBS_MODULE_OPTIONS } from './jobs.module-definition.js';
import { JobsOrchestrator } from './jobs.orchestrator.js';
import { QueueService } from './queue.service.js';

/**
 * The one shared core: a static module object, so importing `JobsModule.forRoot()` more
 * than once still gives one runtime, one explorer and handlers registered once.
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
export class JobsCoreModule {}
