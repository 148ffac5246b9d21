import { JobsError } from './jobs.error.js';

/** An option given to the module, a decorator or an enqueue call is out of range or of the wrong type. */
export class InvalidOptionsError extends JobsError {
  constructor(readonly option: string, problem: string) {
    super(`Invalid option '${option}': ${problem}`);
  }
}
