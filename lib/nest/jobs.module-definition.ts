import { ConfigurableModuleBuilder, Module } from '@nestjs/common';
import type { JobsModuleOptions } from './interfaces/jobs-module-options.interface.js';

export const {
  ConfigurableModuleClass: ConfigurableJobsModule,
  MODULE_OPTIONS_TOKEN: JOBS_MODULE_OPTIONS,
  OPTIONS_TYPE: JOBS_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: JOBS_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<JobsModuleOptions>({ moduleName: 'Jobs' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createJobsOptions')
  .build();

/**
 * What `JobsModule.forRoot()` / `forRootAsync()` return: a module that only provides the
 * options (a new one per call), importing the static `JobsModule` that does the work.
 */
@Module({})
export class JobsOptionsModule extends ConfigurableJobsModule {}
