export const PROCESSOR_METADATA = 'nestjs-background-jobs:processor';
export const JOB_METADATA = 'nestjs-background-jobs:job';
/** On a class: names of its methods that carry @Job, so a @Job outside a @Processor is found without scanning. */
export const JOB_METHODS_METADATA = 'nestjs-background-jobs:job-methods';

/** Injection token of the `JobsRuntime` (storage, registry, engine, producer). */
export const JOBS_RUNTIME = Symbol('JOBS_RUNTIME');

/**
 * Injection token of the app's DataSource named by `storage.dataSourceToken` in `forRoot()`
 * (null when none is named), so the runtime is built only once that DataSource exists.
 */
export const JOBS_DATA_SOURCE = Symbol('JOBS_DATA_SOURCE');

/** On a class: `@GlobalJobMiddleware()`, a provider applied as middleware of every job. */
export const GLOBAL_MIDDLEWARE_METADATA = 'nestjs-background-jobs:global-middleware';
