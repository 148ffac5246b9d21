import { JobsError } from './jobs.error.js';

/** A @Processor/@Job declaration that cannot work (request scope, @Job outside @Processor, …). */
export class ProcessorDefinitionError extends JobsError {}
