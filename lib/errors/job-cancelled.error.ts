import { JobsError } from './jobs.error.js';

export class JobCancelledError extends JobsError {
  constructor(readonly jobId: string) {
    super(`Job ${jobId} was cancelled.`);
  }
}
