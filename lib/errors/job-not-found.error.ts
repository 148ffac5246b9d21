import { JobsError } from './jobs.error.js';

export class JobNotFoundError extends JobsError {
  constructor(readonly jobId: string) {
    super(`No job with id '${jobId}' exists (it may have been pruned).`);
  }
}
