import { JobsError } from './jobs.error.js';

export class DuplicateHandlerError extends JobsError {
  constructor(readonly jobName: string, first: string, second: string) {
    super(
      `Job '${jobName}' is handled by ${first} and ${second}. ` +
        'Each job name needs exactly one handler: rename one of them.',
    );
  }
}
