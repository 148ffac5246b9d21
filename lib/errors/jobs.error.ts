/** Base class of every error this module raises on purpose. */
export class JobsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}
