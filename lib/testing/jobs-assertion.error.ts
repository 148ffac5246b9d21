/**
 * What `JobsTester.expectEnqueued()` and `expectNotEnqueued()` throw: a plain `Error` subclass,
 * so Jest, Vitest, node:test and Mocha all report it as a failed assertion.
 */
export class JobsAssertionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JobsAssertionError';
  }
}
