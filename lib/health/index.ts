export { JobsHealthModule } from './jobs-health.module.js';
export { JobsHealthIndicator } from './jobs-health.indicator.js';
export type { QueueHealth } from './jobs-health.indicator.js';
export type { JobsHealthModuleOptions, JobsHealthCheckOptions } from './health-options.js';
