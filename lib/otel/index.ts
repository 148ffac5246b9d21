export { JobsTelemetryModule } from './jobs-telemetry.module.js';
export { JobsTracingMiddleware, MESSAGING_SYSTEM } from './jobs-tracing.middleware.js';
export type { JobsTelemetryOptions } from './jobs-telemetry.options.js';
