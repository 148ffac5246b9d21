export { JobsMetricsModule } from './jobs-metrics.module.js';
export { JobsMetrics } from './jobs-metrics.service.js';
export type { JobsMetricsOptions } from './metrics-options.js';
