export { JobsDashboardModule } from './jobs-dashboard.module.js';
export type { JobsDashboardOptions, JobsDashboardAsyncOptions, JobsDashboardRuntimeOptions } from './dashboard.options.js';
export { JobsDashboardEvents } from './jobs-dashboard.events.js';
export type { DashboardActionEvent, DashboardActionType } from './jobs-dashboard.events.js';
export type { QueueSummary } from './queue-summary.js';
export type { JobView } from './job-view.js';
export type { BulkOutcome } from './dashboard-actions.js';
