import { Module, type DynamicModule } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { JobsHealthIndicator } from './jobs-health.indicator.js';
import { JOBS_HEALTH_OPTIONS, resolveHealthModuleOptions, type JobsHealthModuleOptions } from './health-options.js';

/**
 * Provides `JobsHealthIndicator` for @nestjs/terminus health checks. Import it beside
 * `JobsModule.forRoot()` and `TerminusModule`: as is, or `JobsHealthModule.forRoot({ timeoutMs })`.
 */
@Module({
  imports: [TerminusModule],
  providers: [JobsHealthIndicator, { provide: JOBS_HEALTH_OPTIONS, useValue: resolveHealthModuleOptions() }],
  exports: [JobsHealthIndicator],
})
export class JobsHealthModule {
  static forRoot(options: JobsHealthModuleOptions = {}): DynamicModule {
    return {
      module: JobsHealthModule,
      providers: [{ provide: JOBS_HEALTH_OPTIONS, useValue: resolveHealthModuleOptions(options) }],
    };
  }
}
