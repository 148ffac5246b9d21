import { JobsError } from './jobs.error.js';

export interface PayloadIssue {
  /** Where in the payload, e.g. `user.emails[2]` (`$` is the payload itself). */
  path: string;
  message: string;
}

export class InvalidPayloadError extends JobsError {
  constructor(readonly jobName: string, readonly issues: PayloadIssue[]) {
    super(
      `Invalid payload for job '${jobName}': ` +
        issues.map((i) => `${i.path}: ${i.message}`).join('; ') +
        '. Payloads must be plain JSON (objects, arrays, strings, finite numbers, booleans, null) and match the job schema.',
    );
  }
}
