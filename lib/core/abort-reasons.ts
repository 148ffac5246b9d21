import { JobsError } from '../errors/jobs.error.js';

/** `ctx.signal.reason` when the instance shuts down: the job is handed back, not failed. */
export class ShutdownAbort extends JobsError {
  constructor() {
    super('The worker is shutting down; the job is handed back to the queue.');
  }
}

/** `ctx.signal.reason` when another worker may now own the job (lease lost). */
export class LeaseLostAbort extends JobsError {
  constructor(jobId: string) {
    super(`The lease on job ${jobId} was lost (it was rescued or changed); stop working on it.`);
  }
}
