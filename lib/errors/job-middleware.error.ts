import { JobsError } from './jobs.error.js';

/**
 * A job middleware threw (or broke its contract, e.g. returned without calling `next()`): the
 * enqueue it ran in stored nothing, or the attempt it wrapped failed (and is retried like any
 * failed attempt). The message names the middleware and its hook; `cause` is what it threw.
 */
export class JobMiddlewareError extends JobsError {
  constructor(
    readonly middleware: string,
    readonly hook: 'enqueue' | 'process',
    problem: string,
    override readonly cause?: unknown,
  ) {
    super(`Job middleware '${middleware}' failed in ${hook}(): ${problem}`);
  }
}
