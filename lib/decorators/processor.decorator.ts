import { SetMetadata } from '@nestjs/common';
import type { BackoffInput, MaxRetriesInput } from '../core/retry-policy.js';
import { PROCESSOR_METADATA } from '../jobs.constants.js';

export interface ProcessorOptions {
  /** Queue of this processor's jobs; default `'default'`. */
  queue?: string;
  maxRetries?: MaxRetriesInput;
  backoff?: BackoffInput;
  /** ms; a run past it has its `ctx.signal` aborted and fails. */
  timeout?: number;
}

/**
 * Marks a provider whose `@Job` methods handle jobs. Its injected dependencies are the
 * jobs' state. `@Processor('email')` is `@Processor({ queue: 'email' })`.
 */
export function Processor(queueOrOptions: string | ProcessorOptions = {}): ClassDecorator {
  const options: ProcessorOptions = typeof queueOrOptions === 'string' ? { queue: queueOrOptions } : { ...queueOrOptions };
  return SetMetadata(PROCESSOR_METADATA, options);
}
