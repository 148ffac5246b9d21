/** User-facing text of the testing module. */

export const storageClockFixed = (dueAt: number) =>
  `A job falls due at ${new Date(dueAt).toISOString()} on the storage's clock, which the test's FakeClock does not move: ` +
  'this storage keeps its own time (SQLite, PostgreSQL and MySQL use the database clock). Delayed jobs and retries with ' +
  "backoff run in one drain({ scheduled: true }) (or inline) on the memory storage, the testing module's default.";

export const limitReached = (runs: number) =>
  `Ran ${runs} jobs and jobs are still due: a job that enqueues itself, or one that retries without end? ` +
  'Pass drain({ limit }) to run a bounded number of jobs.';

export const notEnqueued = (what: string, count: number | undefined, found: number, list: string) =>
  `Expected ${count === undefined ? 'a job' : `${count} job(s)`} ${what} to be enqueued, found ${found}. Enqueued:\n${list}`;

export const enqueuedAfterAll = (what: string, found: number, list: string) =>
  `Expected no job ${what} to be enqueued, found ${found}:\n${list}`;
