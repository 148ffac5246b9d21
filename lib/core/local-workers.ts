import type { JobRecord, NewJob } from './job-record.js';

/**
 * The producer's one line to this instance's own workers (the engine implements it).
 *
 * This is a deliberate exception to "data flows one way" (producer → storage → claim →
 * worker): a job enqueued here for a queue whose worker here is idle is stored already
 * claimed by that worker and started in-process, one round trip instead of an INSERT, a
 * wake-up and a claim. The job still goes through the storage (it is leased and
 * heartbeated like any claimed job, and rescued if this instance dies); only the wake-up
 * and the claim are skipped.
 */
export interface LocalWorkers {
  /** New work may be due in `queue`: its runner here claims now rather than at the next poll. */
  wake(queue: string): void;
  /** A job of `queue` falls due at `at` (this node's clock): its runner here claims then. */
  wakeAt(queue: string, at: number): void;
  /**
   * A slot of this instance's worker for `job`, to be stored already claimed, when its queue
   * is idle here and this instance has its handler; null otherwise (stored waiting as usual).
   */
  reserve(job: NewJob): HandoffReservation | null;
}

/**
 * A slot held for a job this instance is enqueueing already claimed: `start` runs the stored
 * job in it, `cancel` gives it back (the job was stored waiting, or the write failed).
 * Exactly one of them must be called.
 */
export interface HandoffSlot {
  start(record: JobRecord): void;
  cancel(): void;
}

/** A slot, with what the storage needs to store the job claimed by this worker. */
export interface HandoffReservation extends HandoffSlot {
  workerId: string;
  leaseMs: number;
}

/** No workers here (an enqueue-only instance): nothing to wake, no slot to hand off to. */
export const NO_LOCAL_WORKERS: LocalWorkers = { wake: () => undefined, wakeAt: () => undefined, reserve: () => null };
