import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { MissedTicks } from '../core/handler-registry.js';
import type { JobToken } from '../core/job-token.js';
import type { BackoffInput, MaxRetriesInput } from '../core/retry-policy.js';
import { JOB_METADATA, JOB_METHODS_METADATA } from '../jobs.constants.js';

export interface JobOptions {
  maxRetries?: MaxRetriesInput;
  backoff?: BackoffInput;
  /** ms */
  timeout?: number;
  /** Default priority of this job (lower runs first). */
  priority?: number;
  /** Any Standard Schema validator; the payload is checked at enqueue. */
  schema?: StandardSchemaV1;
  /** Recurring: a cron expression (five fields, or six with seconds first). */
  cron?: string;
  /** IANA time zone of `cron`; default UTC. */
  timezone?: string;
  /** Recurring: an interval in ms or a duration (`'30s'`, `'5m'`, `'1h'`). */
  every?: number | string;
  /** After an outage: run one missed tick (default `'run-once'`) or `'skip'` it. */
  missedTicks?: MissedTicks;
  /**
   * With a TypeORM storage: run the handler inside a transaction (`ctx.manager`) that also
   * marks the job completed, so its writes and the completion commit together.
   */
  transaction?: boolean;
}

export interface JobMetadata {
  name: string;
  options: JobOptions;
}

/** Marks a method of a `@Processor` class as the handler of job `name` (or of a `defineJob` token). */
export function Job(nameOrToken: string | JobToken<unknown>, options: JobOptions = {}): MethodDecorator {
  const name = typeof nameOrToken === 'string' ? nameOrToken : nameOrToken?.name;
  const schema = options.schema ?? (typeof nameOrToken === 'object' ? nameOrToken?.schema : undefined);
  const metadata: JobMetadata = { name, options: { ...options, schema } };
  return (target, key, descriptor) => {
    Reflect.defineMetadata(JOB_METADATA, metadata, descriptor.value as object);
    const ctor = (target as { constructor: object }).constructor;
    const methods: (string | symbol)[] = Reflect.getMetadata(JOB_METHODS_METADATA, ctor) ?? [];
    Reflect.defineMetadata(JOB_METHODS_METADATA, [...methods, key], ctor);
    return descriptor;
  };
}
