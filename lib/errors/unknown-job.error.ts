import { JobsError } from './jobs.error.js';

export class UnknownJobError extends JobsError {
  constructor(readonly jobName: string, known: readonly string[]) {
    super(
      `No handler is registered for job '${jobName}'. ` +
        (known.length
          ? `Known jobs: ${known.slice(0, 20).join(', ')}${known.length > 20 ? ', …' : ''}. `
          : 'No @Job handler is registered at all. ') +
        `Add a @Job('${jobName}') method to a @Processor provider that its module lists, or fix the name.`,
    );
  }
}
