import { SetMetadata } from '@nestjs/common';
import type { HandlerGroupOptions } from '../../core/handler-options.js';
import { PROCESSOR_METADATA } from '../jobs.constants.js';

/** The defaults of a processor's jobs: `queue` (default `'default'`), `maxRetries`, `backoff`, `timeout` (ms). */
export type ProcessorOptions = HandlerGroupOptions;

/**
 * Marks a provider whose `@Job` methods handle jobs. Its injected dependencies are the
 * jobs' state. `@Processor('email')` is `@Processor({ queue: 'email' })`.
 */
export function Processor(queueOrOptions: string | ProcessorOptions = {}): ClassDecorator {
  const options: ProcessorOptions = typeof queueOrOptions === 'string' ? { queue: queueOrOptions } : { ...queueOrOptions };
  return SetMetadata(PROCESSOR_METADATA, options);
}
