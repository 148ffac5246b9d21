import type { JobOptions } from '../../core/handler-options.js';
import { tokenDefaultsOf, type JobToken, type JobTokenDefaults } from '../../core/job-token.js';
import { JOB_METADATA, JOB_METHODS_METADATA } from '../jobs.constants.js';

export type { JobOptions };

export interface JobMetadata {
  name: string;
  options: JobOptions;
  /** The queue and policy of the `defineJob` token the handler was declared with. */
  tokenDefaults: JobTokenDefaults;
}

/** Marks a method of a `@Processor` class as the handler of job `name` (or of a `defineJob` token). */
export function Job(nameOrToken: string | JobToken<unknown>, options: JobOptions = {}): MethodDecorator {
  const name = typeof nameOrToken === 'string' ? nameOrToken : nameOrToken?.name;
  const schema = options.schema ?? (typeof nameOrToken === 'object' ? nameOrToken?.schema : undefined);
  const metadata: JobMetadata = { name, options: { ...options, schema }, tokenDefaults: tokenDefaultsOf(nameOrToken) };
  return (target, key, descriptor) => {
    Reflect.defineMetadata(JOB_METADATA, metadata, descriptor.value as object);
    const ctor = (target as { constructor: object }).constructor;
    const methods: (string | symbol)[] = Reflect.getMetadata(JOB_METHODS_METADATA, ctor) ?? [];
    Reflect.defineMetadata(JOB_METHODS_METADATA, [...methods, key], ctor);
    return descriptor;
  };
}
