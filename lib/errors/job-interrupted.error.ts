import { JobsError } from './jobs.error.js';

/**
 * The job's `lastError` when a shutdown interrupted it once more than `maxInterruptions`
 * allows: that run counts as an attempt, as a failure would, so a job that never finishes
 * before its instance stops cannot loop across deploys for ever.
 */
export class JobInterruptedError extends JobsError {
  constructor(readonly jobName: string, readonly interruptions: number, readonly maxInterruptions: number) {
    super(
      `Job '${jobName}' was interrupted by shutdown ${interruptions} times (maxInterruptions: ${maxInterruptions}), ` +
        'so this interruption counts as a failed attempt. Make the handler finish within shutdownTimeoutMs ' +
        '(or honour ctx.signal and resume from saved progress), raise shutdownTimeoutMs, or raise maxInterruptions.',
    );
  }
}
