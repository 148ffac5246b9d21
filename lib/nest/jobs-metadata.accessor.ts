import { Injectable } from '@nestjs/common';
import type { JobMetadata } from './decorators/job.decorator.js';
import type { ProcessorOptions } from './decorators/processor.decorator.js';
import { GLOBAL_MIDDLEWARE_METADATA, JOB_METADATA, JOB_METHODS_METADATA, PROCESSOR_METADATA } from './jobs.constants.js';

/** Reads what `@Processor` and `@Job` wrote; null-safe on anything (a provider may be a value or a factory). */
@Injectable()
export class JobsMetadataAccessor {
  processorOf(target: unknown): ProcessorOptions | undefined {
    return isObject(target) ? (Reflect.getMetadata(PROCESSOR_METADATA, target) as ProcessorOptions | undefined) : undefined;
  }

  /** Names of a class's methods that carry `@Job` (also when the class has no `@Processor`). */
  jobMethodsOf(target: unknown): (string | symbol)[] {
    return isObject(target) ? ((Reflect.getMetadata(JOB_METHODS_METADATA, target) as (string | symbol)[] | undefined) ?? []) : [];
  }

  isGlobalMiddleware(target: unknown): boolean {
    return isObject(target) && Reflect.getMetadata(GLOBAL_MIDDLEWARE_METADATA, target) === true;
  }

  jobOf(method: unknown): JobMetadata | undefined {
    return isObject(method) ? (Reflect.getMetadata(JOB_METADATA, method) as JobMetadata | undefined) : undefined;
  }
}

function isObject(value: unknown): value is object {
  return (typeof value === 'object' && value !== null) || typeof value === 'function';
}
