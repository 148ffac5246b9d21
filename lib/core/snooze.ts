/**
 * Returned by an internal handler (a recurring schedule's row) to put its job back to
 * sleep until `until` instead of completing it; the attempt is not counted.
 */
export class Snooze {
  constructor(readonly until: Date) {}
}
