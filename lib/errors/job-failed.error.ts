import type { JobErrorInfo } from './job-error-info.js';
import { JobsError } from './jobs.error.js';

/** `waitFor` rejects with this when the job ends dead or cancelled. */
export class JobFailedError extends JobsError {
  constructor(readonly jobId: string, readonly state: string, readonly lastError: JobErrorInfo | null) {
    super(
      `Job ${jobId} ended ${state}` + (lastError ? `: ${lastError.name}: ${lastError.message}` : '.'),
    );
  }
}
