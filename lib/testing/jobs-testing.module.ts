import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { DiscoveryModule, ModuleRef } from '@nestjs/core';
import type { JobsRuntime } from '../core/jobs-runtime.js';
import { JOBS_RUNTIME } from '../nest/jobs.constants.js';
import { JobsMetadataAccessor } from '../nest/jobs-metadata.accessor.js';
import { JobsExplorer } from '../nest/jobs.explorer.js';
import { JOBS_MODULE_OPTIONS } from '../nest/jobs.module-definition.js';
import { QueueService } from '../nest/queue.service.js';
import { InlineQueueService } from './inline-queue.service.js';
import { JOBS_TESTING, JOBS_TESTING_OPTIONS } from './jobs-testing.constants.js';
import { JobsTestingLifecycle } from './jobs-testing.lifecycle.js';
import { resolveTestingOptions, type JobsTestingOptions } from './jobs-testing.options.js';
import { JobsTester } from './jobs-tester.js';
import { createTestingJobs, type TestingJobs } from './testing-jobs.js';

/**
 * `JobsModule` for tests: memory storage and a fake clock by default, jobs run only when the
 * test says so (`mode: 'manual'`) or inside `enqueue` (`mode: 'inline'`), and `JobsTester`
 * to assert on them. Import it in place of `JobsModule.forRoot()`, or swap it into an app:
 * `Test.createTestingModule({ imports: [AppModule] }).overrideModule(JobsModule).useModule(JobsTestingModule.forRoot())`.
 */
@Module({})
export class JobsTestingModule {
  static forRoot(options: JobsTestingOptions = {}): DynamicModule {
    // Misspelt or invalid options fail here, where the test names them, not at compile().
    const mode = resolveTestingOptions(options).mode;
    const providers: Provider[] = [
      { provide: JOBS_TESTING_OPTIONS, useValue: options },
      {
        provide: JOBS_TESTING,
        useFactory: createTestingJobs,
        // An overridden app's own JobsModule options (its retry policy, queues …) apply too.
        inject: [JOBS_TESTING_OPTIONS, { token: JOBS_MODULE_OPTIONS, optional: true }, ModuleRef],
      },
      { provide: JOBS_RUNTIME, useFactory: (testing: TestingJobs): JobsRuntime => testing.runtime, inject: [JOBS_TESTING] },
      mode === 'inline' ? { provide: QueueService, useClass: InlineQueueService } : QueueService,
      JobsMetadataAccessor,
      JobsExplorer,
      JobsTester,
      JobsTestingLifecycle,
    ];
    return {
      module: JobsTestingModule,
      global: true,
      imports: [DiscoveryModule],
      providers,
      exports: [QueueService, JOBS_RUNTIME, JobsTester],
    };
  }
}
