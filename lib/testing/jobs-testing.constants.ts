/** Injection token of the testing module's options. */
export const JOBS_TESTING_OPTIONS = Symbol('JOBS_TESTING_OPTIONS');
/** Injection token of the `TestingJobs` (the runtime, its fake clock and the job runner). */
export const JOBS_TESTING = Symbol('JOBS_TESTING');
/** Job runs after which a drain (or an inline enqueue) with work still due is taken for a loop. */
export const SAFETY_LIMIT = 10_000;
