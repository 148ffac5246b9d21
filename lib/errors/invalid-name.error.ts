import { JobsError } from './jobs.error.js';

export class InvalidNameError extends JobsError {
  constructor(readonly kind: string, readonly value: unknown) {
    super(
      `Invalid ${kind} ${JSON.stringify(String(value)).slice(0, 160)}: ` +
        'use 1 to 128 characters from A-Z a-z 0-9 _ . : -',
    );
  }
}
