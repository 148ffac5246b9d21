import { JobsError } from './jobs.error.js';

export class JobTimeoutError extends JobsError {
  constructor(readonly jobName: string, readonly timeoutMs: number) {
    super(
      `Job '${jobName}' ran past its timeout of ${timeoutMs} ms and was aborted. ` +
        'Raise `timeout` in @Job/@Processor options, or make the handler honour ctx.signal sooner.',
    );
  }
}
