import { Module, type DynamicModule } from '@nestjs/common';
import { JobsMetrics } from './jobs-metrics.service.js';
import { JOBS_METRICS_OPTIONS, resolveMetricsOptions, type JobsMetricsOptions } from './metrics-options.js';

/**
 * Prometheus metrics of the jobs, in a prom-client registry (default: prom-client's global
 * `register`, which `/metrics` endpoints such as @willsoto/nestjs-prometheus serve). Import it
 * beside `JobsModule.forRoot()`: `JobsMetricsModule.forRoot({ registry?, prefix? })`.
 */
@Module({})
export class JobsMetricsModule {
  static forRoot(options: JobsMetricsOptions = {}): DynamicModule {
    return {
      module: JobsMetricsModule,
      providers: [{ provide: JOBS_METRICS_OPTIONS, useValue: resolveMetricsOptions(options) }, JobsMetrics],
      exports: [JobsMetrics],
    };
  }
}
