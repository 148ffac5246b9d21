import { JobsError } from './jobs.error.js';

/** `waitFor` gave up before the job finished; the job itself goes on. */
export class WaitTimeoutError extends JobsError {
  constructor(readonly jobId: string, readonly timeoutMs: number, readonly state: string) {
    super(`Job ${jobId} did not finish within ${timeoutMs} ms (it is ${state}); it goes on. Wait longer or check it with getJob().`);
  }
}
