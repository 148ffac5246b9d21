/**
 * Returned by an internal handler (a recurring schedule's row) to put its job back to
 * sleep until `until` instead of completing it; the attempt is not counted.
 */
export class Snooze {
  constructor(readonly until: Date) {}
}

/**
 * Returned by an internal handler that put its job back to sleep itself, together with the
 * writes of its run (a schedule row: the tick's job and the snooze in one transaction), so
 * nothing is left to write. `held` false: the lease was lost and nothing was written.
 */
export class Snoozed {
  constructor(readonly held: boolean) {}
}
