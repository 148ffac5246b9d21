import { JobsError } from './jobs.error.js';

export class PayloadTooLargeError extends JobsError {
  constructor(readonly jobName: string, readonly bytes: number, readonly limitBytes: number) {
    super(
      `Payload of job '${jobName}' is ${bytes} bytes, over the limit of ${limitBytes} bytes. ` +
        'Store large data elsewhere and pass a reference, or raise `maxPayloadBytes` in JobsModule options.',
    );
  }
}
