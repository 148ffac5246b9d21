/** User-facing text of the testing module. */

export const limitReached = (runs: number) =>
  `Ran ${runs} jobs and jobs are still due: a job that enqueues itself, or one that retries without end? ` +
  'Pass drain({ limit }) to run a bounded number of jobs.';

export const notEnqueued = (what: string, count: number | undefined, found: number, list: string) =>
  `Expected ${count === undefined ? 'a job' : `${count} job(s)`} ${what} to be enqueued, found ${found}. Enqueued:\n${list}`;

export const enqueuedAfterAll = (what: string, found: number, list: string) =>
  `Expected no job ${what} to be enqueued, found ${found}:\n${list}`;
