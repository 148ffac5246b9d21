export { JobsTestingModule } from './jobs-testing.module.js';
export { JobsTester } from './jobs-tester.js';
export type { DrainOptions } from './jobs-tester.js';
export type { DrainResult } from './test-job-runner.js';
export type { PerformOptions } from './perform-job.js';
export type { JobsTestingOptions, JobsTestingMode } from './jobs-testing.options.js';
export { JobsAssertionError } from './jobs-assertion.error.js';
