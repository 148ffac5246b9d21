import { Module, type DynamicModule } from '@nestjs/common';
import { checkTelemetryOptions, JOBS_TELEMETRY_OPTIONS, type JobsTelemetryOptions } from './jobs-telemetry.options.js';
import { JobsTracingMiddleware } from './jobs-tracing.middleware.js';

/**
 * `JobsTelemetryModule.forRoot({ tracerName? })` beside `JobsModule.forRoot()`: every job is
 * traced (see `JobsTracingMiddleware`), with no entry in the jobs module's `middleware` list.
 */
@Module({})
export class JobsTelemetryModule {
  static forRoot(options: JobsTelemetryOptions = {}): DynamicModule {
    return {
      module: JobsTelemetryModule,
      providers: [{ provide: JOBS_TELEMETRY_OPTIONS, useValue: checkTelemetryOptions(options) }, JobsTracingMiddleware],
      exports: [JobsTracingMiddleware],
    };
  }
}
