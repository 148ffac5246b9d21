import { JobsError } from './jobs.error.js';

/**
 * Thrown by a handler when the service it calls refuses for now (an HTTP 429 with
 * Retry-After): the job goes back to available without counting an attempt, and its queue
 * starts no job on any instance for `retryAfterMs`.
 */
export class RateLimitedError extends JobsError {
  constructor(readonly retryAfterMs: number, message?: string) {
    super(message ?? `Rate limited: retry after ${retryAfterMs} ms.`);
  }
}
