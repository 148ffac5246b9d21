export const PROCESSOR_METADATA = 'nestjs-background-jobs:processor';
export const JOB_METADATA = 'nestjs-background-jobs:job';
/** On a class: names of its methods that carry @Job, so a @Job outside a @Processor is found without scanning. */
export const JOB_METHODS_METADATA = 'nestjs-background-jobs:job-methods';

/** Injection token of the `JobsRuntime` (storage, registry, engine, producer). */
export const JOBS_RUNTIME = Symbol('JOBS_RUNTIME');
/** On a class: `@GlobalJobMiddleware()`, a provider applied as middleware of every job. */
export const GLOBAL_MIDDLEWARE_METADATA = 'nestjs-background-jobs:global-middleware';
